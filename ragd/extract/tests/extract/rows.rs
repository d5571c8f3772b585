//! CSV and JSON Lines rows.

use ragd_extract::{ExtractError, Format, Limits, Row, rows};
use serde_json::json;

fn ok(format: Format, bytes: &[u8]) -> Vec<Row> {
    rows(format, bytes, &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn corrupt(format: Format, bytes: &[u8]) -> String {
    match rows(format, bytes, &Limits::default()) {
        Err(ExtractError::Corrupt(m)) => m,
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

fn object(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().unwrap().clone()
}

#[test]
fn csv_rows() {
    let csv = "\u{FEFF}name,city,notes\nAda,London,\n\"Lin, Jr.\",,\"tea\nand cake\"\n";
    let rows = ok(Format::Csv, csv.as_bytes());
    assert_eq!(
        rows,
        [
            Row {
                number: 1,
                text: "name: Ada\ncity: London".into(),
                fields: object(json!({"name": "Ada", "city": "London", "notes": ""})),
                id: None,
            },
            Row {
                number: 2,
                text: "name: Lin, Jr.\nnotes: tea\nand cake".into(),
                fields: object(json!({"name": "Lin, Jr.", "city": "", "notes": "tea\nand cake"})),
                id: None,
            },
        ]
    );
}

#[test]
fn csv_blank_and_repeated_headers_get_names() {
    let rows = ok(Format::Csv, b"x,,x\n1,2,3\n");
    assert_eq!(rows[0].text, "x: 1\ncolumn 2: 2\nx (3): 3");
}

#[test]
fn csv_ragged_row_names_its_number() {
    let m = corrupt(Format::Csv, b"a,b\n1,2\n3,4\n5\n6,7\n");
    assert!(
        m.contains("row 3") && m.contains("has 1 field but the header has 2"),
        "{m}"
    );
}

#[test]
fn csv_invalid_utf8_names_its_row() {
    let m = corrupt(Format::Csv, b"a,b\n1,2\n3,\xFF\n");
    assert!(m.contains("row 2") && m.contains("UTF-8"), "{m}");
}

#[test]
fn csv_without_data_is_empty() {
    for csv in [&b""[..], b"a,b\n", b"a,b\n,\n"] {
        let e = rows(Format::Csv, csv, &Limits::default()).unwrap_err();
        assert!(matches!(e, ExtractError::Empty(_)), "{csv:?}: {e:?}");
    }
}

#[test]
fn row_and_output_bounds() {
    let limits = Limits {
        max_rows: 2,
        ..Limits::default()
    };
    let e = rows(Format::Csv, b"a\n1\n2\n3\n", &limits).unwrap_err();
    assert!(
        matches!(e, ExtractError::TooLarge(ref m) if m.contains("max_rows = 2")),
        "{e:?}"
    );
    assert_eq!(rows(Format::Csv, b"a\n1\n2\n", &limits).unwrap().len(), 2);

    let e = rows(Format::Jsonl, b"{}\n\n{}\n{}\n", &limits).unwrap_err();
    assert!(matches!(e, ExtractError::TooLarge(_)), "{e:?}");

    let limits = Limits {
        max_output_bytes: 10,
        ..Limits::default()
    };
    let e = rows(Format::Csv, b"a\n12345\n12345\n", &limits).unwrap_err();
    assert!(
        matches!(e, ExtractError::TooLarge(ref m) if m.contains("max_output_bytes")),
        "{e:?}"
    );
}

#[test]
fn jsonl_rows() {
    let jsonl = concat!(
        r#"{"id": "d1", "text": "hello world", "lang": "en"}"#,
        "\n\n  \r\n",
        r#"{"id": 7, "title": "T", "n": 2.5, "ok": true, "none": null, "tags": ["x"], "nested": {"a": 1}}"#,
        "\r\n",
        r#"{"text": 3, "note": "text is not a string"}"#,
    );
    let rows = ok(Format::Jsonl, jsonl.as_bytes());
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        Row {
            number: 1,
            text: "hello world".into(),
            fields: object(json!({"id": "d1", "lang": "en"})),
            id: Some("d1".into()),
        }
    );
    assert_eq!(rows[1].number, 2);
    assert_eq!(rows[1].id.as_deref(), Some("7"));
    let mut lines: Vec<&str> = rows[1].text.lines().collect();
    lines.sort();
    assert_eq!(lines, ["id: 7", "n: 2.5", "ok: true", "title: T"]);
    assert_eq!(rows[1].fields.len(), 7);
    assert_eq!(rows[2].number, 3);
    let mut lines: Vec<&str> = rows[2].text.lines().collect();
    lines.sort();
    assert_eq!(lines, ["note: text is not a string", "text: 3"]);
    assert_eq!(rows[2].fields["text"], json!(3));
}

#[test]
fn jsonl_line_that_is_not_an_object() {
    let m = corrupt(Format::Jsonl, b"{\"a\": 1}\n\n[1, 2]\n");
    assert!(m.contains("line 3") && m.contains("an array"), "{m}");
    let m = corrupt(Format::Jsonl, b"{\"a\": 1}\n{\"a\": \n");
    assert!(m.contains("line 2") && m.contains("not valid JSON"), "{m}");
    let m = corrupt(Format::Jsonl, b"{\"a\": \"\xFF\"}\n");
    assert!(m.contains("line 1"), "{m}");
}

#[test]
fn jsonl_without_text_is_empty() {
    let e = rows(
        Format::Jsonl,
        b"\n{\"text\": \"\"}\n{\"nested\": {}}\n",
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(e, ExtractError::Empty(_)), "{e:?}");
}
