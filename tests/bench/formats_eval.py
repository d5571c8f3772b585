#!/usr/bin/env python3
"""The project's docs/*.md rendered as HTML, DOCX and PDF, for the per-format
quality benchmark (tests/bench/formats-eval.sh).

usage: formats_eval.py OUT_DIR QUESTIONS.jsonl

Writes OUT_DIR/{md,html,docx,pdf}/NAME.EXT (one file per docs/*.md, same
headings, paragraphs, lists, code blocks and table rows in each format)
and OUT_DIR/questions-FMT.jsonl: the questions with their expected ids
renamed to that format's file names. Needs python-docx and reportlab
(formats-eval.sh installs them into a venv).
"""
import html
import json
import pathlib
import re
import sys

from docx import Document
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, Preformatted, SimpleDocTemplate

FORMATS = ["md", "html", "docx", "pdf"]


def blocks(md):
    """(kind, level, text) of a Markdown file: heading, para, item, code, row."""
    out, para, code = [], [], None
    def flush():
        if para:
            out.append(("para", 0, " ".join(para)))
            para.clear()
    for line in md.splitlines():
        if code is not None:
            if line.strip().startswith("```"):
                out.append(("code", 0, "\n".join(code)))
                code = None
            else:
                code.append(line)
            continue
        s = line.strip()
        if s.startswith("```"):
            flush()
            code = []
        elif m := re.match(r"(#{1,6})\s+(.*)", s):
            flush()
            out.append(("heading", len(m.group(1)), m.group(2)))
        elif m := re.match(r"([-*]|\d+\.)\s+(.*)", s):
            flush()
            out.append(("item", 0, m.group(2)))
        elif s.startswith("|"):
            flush()
            if not re.match(r"^\|[\s:|-]+\|$", s):
                cells = [c.strip() for c in s.strip("|").split("|")]
                out.append(("row", 0, " | ".join(cells)))
        elif not s:
            flush()
        else:
            para.append(s)
    flush()
    return out


def to_html(bs, title):
    parts = [f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>"]
    for kind, level, text in bs:
        t = html.escape(text)
        parts.append({
            "heading": f"<h{level}>{t}</h{level}>",
            "para": f"<p>{t}</p>",
            "item": f"<ul><li>{t}</li></ul>",
            "code": f"<pre><code>{t}</code></pre>",
            "row": f"<table><tr>{''.join(f'<td>{html.escape(c)}</td>' for c in text.split(' | '))}</tr></table>",
        }[kind])
    parts.append("</body></html>")
    return "\n".join(parts)


def to_docx(bs, path):
    d = Document()
    for kind, level, text in bs:
        if kind == "heading":
            d.add_heading(text, level=min(level, 6))
        elif kind == "item":
            d.add_paragraph(text, style="List Bullet")
        else:
            d.add_paragraph(text)
    d.save(path)


def to_pdf(bs, path):
    styles = getSampleStyleSheet()
    story = []
    for kind, level, text in bs:
        if kind == "code":
            story.append(Preformatted(text, styles["Code"]))
            continue
        style = styles[f"Heading{min(level, 6)}"] if kind == "heading" else styles["BodyText"]
        prefix = "- " if kind == "item" else ""
        story.append(Paragraph(prefix + html.escape(text), style))
    SimpleDocTemplate(str(path), pagesize=A4).build(story)


def main():
    out, questions = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    for f in FORMATS:
        (out / f).mkdir(parents=True, exist_ok=True)
    for md in sorted(pathlib.Path("docs").glob("*.md")):
        text = md.read_text()
        bs = blocks(text)
        (out / "md" / md.name).write_text(text)
        (out / "html" / f"{md.stem}.html").write_text(to_html(bs, md.stem))
        to_docx(bs, out / "docx" / f"{md.stem}.docx")
        to_pdf(bs, out / "pdf" / f"{md.stem}.pdf")
    lines = [l for l in questions.read_text().splitlines() if l.strip() and not l.startswith("#")]
    for f in FORMATS:
        with open(out / f"questions-{f}.jsonl", "w") as w:
            for l in lines:
                q = json.loads(l)
                q["expected"] = [re.sub(r"\.md$", f".{f}", e) for e in q["expected"]]
                w.write(json.dumps(q) + "\n")


if __name__ == "__main__":
    main()
