//! Rows: CSV and JSON Lines files, one document per row.
//!
//! A CSV file's first row names the columns; each data row becomes a
//! [`Row`] whose text is its "column: value" lines (empty values left out),
//! so a passage keeps the meaning of each value. Every row must have as many
//! fields as the header. A JSON Lines file holds one JSON object per
//! non-blank line; its "text" string is the row's text, or else its scalar
//! fields as "key: value" lines. Errors name the row or line at fault.
//!
//! `max_rows` bounds the number of rows, `max_output_bytes` the text of all
//! rows together. Rows with no text at all are skipped.

use serde_json::{Map, Value};

use crate::output::too_much_output;
use crate::{ExtractError, Limits, Row};

pub(crate) fn csv(bytes: &[u8], limits: &Limits) -> Result<Vec<Row>, ExtractError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header = reader.headers().map_err(|e| csv_error(&e, 0))?;
    if header.is_empty() {
        return Err(ExtractError::Empty("the CSV file is empty".into()));
    }
    let names = column_names(header);

    let mut rows = Vec::new();
    let mut total = Total::new(limits);
    let mut record = csv::StringRecord::new();
    for number in 1.. {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(&e, number)),
        }
        total.row(number)?;
        let mut text = String::new();
        let mut fields = Map::new();
        for (name, value) in names.iter().zip(record.iter()) {
            if !value.trim().is_empty() {
                text.push_str(&format!("{name}: {}\n", value.trim()));
            }
            fields.insert(name.clone(), Value::String(value.to_string()));
        }
        total.push(&mut rows, number, text, fields, None)?;
    }
    if rows.is_empty() {
        return Err(ExtractError::Empty(
            "the CSV file has no data rows with values".into(),
        ));
    }
    Ok(rows)
}

pub(crate) fn jsonl(bytes: &[u8], limits: &Limits) -> Result<Vec<Row>, ExtractError> {
    let mut rows = Vec::new();
    let mut total = Total::new(limits);
    let mut number = 0;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        if line.trim_ascii().is_empty() {
            continue;
        }
        number += 1;
        total.row(number)?;
        let value: Value = serde_json::from_slice(line)
            .map_err(|e| ExtractError::Corrupt(format!("line {line_no}: not valid JSON ({e})")))?;
        let Value::Object(mut fields) = value else {
            return Err(ExtractError::Corrupt(format!(
                "line {line_no}: expected a JSON object, found {}",
                kind(&value)
            )));
        };
        let id = match fields.get("id") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let text = match fields.remove("text") {
            Some(Value::String(text)) => text,
            other => {
                if let Some(other) = other {
                    fields.insert("text".into(), other);
                }
                scalar_lines(&fields)
            }
        };
        total.push(&mut rows, number, text, fields, id)?;
    }
    if rows.is_empty() {
        return Err(ExtractError::Empty(
            "the JSON Lines file has no rows with text".into(),
        ));
    }
    Ok(rows)
}

/// Counts rows and text bytes against the limits.
struct Total {
    bytes: usize,
    limits: Limits,
}

impl Total {
    fn new(limits: &Limits) -> Total {
        Total {
            bytes: 0,
            limits: *limits,
        }
    }

    fn row(&self, number: usize) -> Result<(), ExtractError> {
        if number > self.limits.max_rows {
            return Err(ExtractError::TooLarge(format!(
                "the file has more than max_rows = {} rows",
                self.limits.max_rows
            )));
        }
        Ok(())
    }

    fn push(
        &mut self,
        rows: &mut Vec<Row>,
        number: usize,
        text: String,
        fields: Map<String, Value>,
        id: Option<String>,
    ) -> Result<(), ExtractError> {
        let text = text.trim_end().to_string();
        if text.trim().is_empty() {
            return Ok(());
        }
        self.bytes += text.len();
        if self.bytes > self.limits.max_output_bytes {
            return Err(too_much_output(self.limits.max_output_bytes));
        }
        rows.push(Row {
            number,
            text,
            fields,
            id,
        });
        Ok(())
    }
}

/// Header names as keys: a blank one becomes "column N", a repeated one
/// "name (N)" (N counting columns from 1).
fn column_names(header: &csv::StringRecord) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        let name = if name.is_empty() {
            format!("column {}", i + 1)
        } else if names.iter().any(|n| n == name) {
            format!("{name} ({})", i + 1)
        } else {
            name.to_string()
        };
        names.push(name);
    }
    names
}

fn csv_error(e: &csv::Error, number: usize) -> ExtractError {
    let at = match number {
        0 => "the header row".to_string(),
        n => format!("row {n}"),
    };
    ExtractError::Corrupt(match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!(
            "{at} has {len} field{} but the header has {expected_len}",
            if *len == 1 { "" } else { "s" }
        ),
        csv::ErrorKind::Utf8 { .. } => format!("{at} is not valid UTF-8"),
        _ => format!("{at}: {e}"),
    })
}

/// "key: value" lines of an object's strings, numbers and booleans.
fn scalar_lines(fields: &Map<String, Value>) -> String {
    let mut text = String::new();
    for (key, value) in fields {
        let value = match value {
            Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        text.push_str(&format!("{key}: {value}\n"));
    }
    text
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
