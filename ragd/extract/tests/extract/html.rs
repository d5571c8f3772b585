//! HTML to Markdown.

use ragd_extract::{ExtractError, Format};

use crate::{err, ok};

const PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title> My
  Page </title><style>body { color: red }</style>
<script>var x = "<p>not text</p>";</script></head>
<body>
<nav><a href="/">Home</a></nav>
<h1>Main   title</h1>
<p>Fish &amp; chips &lt;3 &eacute;t&eacute;&nbsp;here.</p>
<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>
<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>
<pre><code>fn main() {
    x &lt; y;
}</code></pre>
<p>line one<br>line
   two</p>
<script>alert("hidden")</script><noscript>enable js</noscript>
<template><p>inert</p></template>
<h2>Sub</h2><div>tail</div>
<footer>foot</footer>
</body></html>"#;

#[test]
fn page_to_markdown() {
    let x = ok(Format::Html, PAGE.as_bytes());
    let expected = "Home

# Main title

Fish & chips <3 été here.

- one
- two
  - nested

a | b
1 | 2

```
fn main() {
    x < y;
}
```

line one
line two

## Sub

tail

foot";
    assert_eq!(x.text, expected);
    assert_eq!(x.title.as_deref(), Some("My Page"));
    assert!(x.pages.is_empty());
    assert_eq!(x.page_at(0), None);
}

#[test]
fn fragments_without_head_or_body() {
    let x = ok(Format::Html, b"<p>Just <b>bold</b> text</p>\n<p>and more");
    assert_eq!(x.text, "Just bold text\n\nand more");
    assert_eq!(x.title, None);
}

#[test]
fn paragraphs_in_list_items_keep_the_list_tight() {
    let x = ok(
        Format::Html,
        b"<p>before</p><ul><li><p>a</p><p>b</p></li><li>c</li></ul><p>after</p>",
    );
    assert_eq!(x.text, "before\n\n- a\nb\n- c\n\nafter");
}

#[test]
fn text_that_looks_like_markdown_syntax_is_escaped() {
    let x = ok(Format::Html, b"<p># not a heading</p><p>```not a fence</p>");
    assert_eq!(x.text, "\\# not a heading\n\n\\```not a fence");
}

#[test]
fn code_containing_a_fence_gets_a_longer_fence() {
    let x = ok(Format::Html, b"<pre>a\n```\nb</pre>");
    assert_eq!(x.text, "````\na\n```\nb\n````");
}

#[test]
fn page_with_only_scripts_is_empty() {
    let e = err(
        Format::Html,
        b"<html><head><title>T</title><script>run()</script></head><body> </body></html>",
    );
    assert!(matches!(e, ExtractError::Empty(_)), "{e:?}");
}

#[test]
fn invalid_utf8_is_corrupt() {
    let e = err(Format::Html, b"<p>caf\xE9</p>");
    assert!(
        matches!(e, ExtractError::Corrupt(ref m) if m.contains("UTF-8")),
        "{e:?}"
    );
}
