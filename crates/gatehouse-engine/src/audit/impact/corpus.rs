//! Reading the corpus: lines into reused batches, each line into an
//! action to decide, a record to count, or a reason it is unreadable.

use std::io::{self, BufRead};

use serde::Deserialize;
use serde_json::Value;

use super::{MAX_LINE_BYTES, Progress};

/// Lines handed to a worker at once.
const BATCH_LINES: usize = 512;
/// A batch is sent early once its text reaches this size.
const BATCH_BYTES: usize = 1024 * 1024;

/// Lines of the corpus, stored back to back in one reused buffer.
#[derive(Default)]
pub(super) struct Batch {
    text: Vec<u8>,
    lines: Vec<LineSpan>,
}

impl Batch {
    pub(super) fn clear(&mut self) {
        self.text.clear();
        self.lines.clear();
        // A batch that held a huge line gives the memory back.
        self.text.shrink_to(2 * BATCH_BYTES);
    }

    /// Each line with its 1-based number, read.
    pub(super) fn parsed(&self) -> impl Iterator<Item = (u64, Line)> + '_ {
        self.lines.iter().map(|span| {
            let line = if span.too_long {
                Line::Unreadable(format!("longer than {MAX_LINE_BYTES} bytes"))
            } else {
                parse_line(self.text.get(span.start..span.end).unwrap_or_default())
            };
            (span.number, line)
        })
    }
}

/// One line's place in a batch's text.
struct LineSpan {
    number: u64,
    start: usize,
    end: usize,
    too_long: bool,
}

/// Reads the corpus into batches, counting lines and bytes.
#[derive(Default)]
pub(super) struct Reader {
    /// Lines read so far.
    pub(super) lines: u64,
    bytes: u64,
}

impl Reader {
    pub(super) fn progress(&self) -> Progress {
        Progress {
            lines: self.lines,
            bytes: self.bytes,
        }
    }

    /// Appends lines to `batch` until it is full or the corpus ends.
    /// Returns whether there may be more lines.
    pub(super) fn fill<R: BufRead>(
        &mut self,
        corpus: &mut R,
        batch: &mut Batch,
    ) -> io::Result<bool> {
        while batch.lines.len() < BATCH_LINES && batch.text.len() < BATCH_BYTES {
            let start = batch.text.len();
            let (consumed, too_long) = read_line(corpus, &mut batch.text)?;
            if consumed == 0 {
                return Ok(false);
            }
            self.lines += 1;
            self.bytes += consumed as u64;
            batch.lines.push(LineSpan {
                number: self.lines,
                start,
                end: batch.text.len(),
                too_long,
            });
        }
        Ok(true)
    }
}

/// Appends one line to `buf`. Returns the bytes consumed (0 at the end of
/// the corpus) and whether the line was longer than [`MAX_LINE_BYTES`]; such
/// a line is consumed to its end but nothing of it is kept.
pub fn read_line<R: BufRead>(corpus: &mut R, buf: &mut Vec<u8>) -> io::Result<(usize, bool)> {
    let start = buf.len();
    let bound = MAX_LINE_BYTES as u64 + 1;
    let read = io::Read::take(&mut *corpus, bound).read_until(b'\n', buf)?;
    if read > MAX_LINE_BYTES && !buf.ends_with(b"\n") {
        buf.truncate(start);
        return Ok((read + skip_line(corpus)?, true));
    }
    Ok((read, false))
}

/// Consumes input up to and including the next newline.
fn skip_line<R: BufRead>(corpus: &mut R) -> io::Result<usize> {
    let mut skipped = 0;
    loop {
        let (used, done) = {
            let available = match corpus.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(skipped);
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            }
        };
        corpus.consume(used);
        skipped += used;
        if done {
            return Ok(skipped);
        }
    }
}

/// What one line of the corpus holds.
#[derive(Debug)]
pub(super) enum Line {
    Blank,
    Input(Input),
    NoInputRecorded,
    OtherRecord,
    Unreadable(String),
}

/// An input to decide, with what its audit record says about it.
#[derive(Debug)]
pub(super) struct Input {
    /// The action.
    pub(super) value: Value,
    /// The record's `id`.
    pub(super) record: Option<String>,
    /// The record's `options.strict`: the engine is given it again.
    pub(super) strict: Option<bool>,
}

/// The field that tells an audit record from an action. Every other field
/// is skipped without being built.
#[derive(Deserialize)]
struct RecordKind {
    #[serde(default)]
    record: Option<Value>,
}

/// The fields of a decision record that [`diff`] reads. The recorded
/// decision, most of the line, is skipped without being built.
#[derive(Deserialize)]
struct DecisionFields {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    redacted: Option<Value>,
    #[serde(default)]
    options: Option<Value>,
}

fn parse_line(bytes: &[u8]) -> Line {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Line::Blank;
    }
    // Duplicate keys and excess depth are refused as `eval` refuses them,
    // before either path below reads the line.
    if let Err(errors) = crate::input::check_json_structure(bytes) {
        return Line::Unreadable(crate::input::describe(&errors));
    }
    // The fast path for audit records; anything it does not take (an action,
    // a duplicate key, a field of an unexpected type) goes the general way,
    // which gives the same answer.
    match serde_json::from_slice::<RecordKind>(bytes) {
        Ok(RecordKind {
            record: Some(Value::String(kind)),
        }) if kind == "decision" => {
            if let Ok(fields) = serde_json::from_slice::<DecisionFields>(bytes) {
                let mut record = serde_json::Map::new();
                for (key, value) in [
                    ("id", fields.id),
                    ("input", fields.input),
                    ("redacted", fields.redacted),
                    ("options", fields.options),
                ] {
                    if let Some(v) = value {
                        record.insert(key.to_owned(), v);
                    }
                }
                return decision_record(&mut record);
            }
        }
        Ok(RecordKind {
            record: Some(Value::String(_)),
        }) => return Line::OtherRecord,
        _ => {}
    }
    parse_document(bytes)
}

/// Any line, read as a whole JSON document.
fn parse_document(bytes: &[u8]) -> Line {
    let mut value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return Line::Unreadable(json_error(&e)),
    };
    let Some(object) = value.as_object_mut() else {
        return Line::Unreadable(format!(
            "{} is not an action or an audit record (a JSON object)",
            json_kind(&value)
        ));
    };
    match object.get("record") {
        Some(Value::String(record)) if record == "decision" => decision_record(object),
        Some(Value::String(_)) => Line::OtherRecord,
        _ => Line::Input(Input {
            value,
            record: None,
            strict: None,
        }),
    }
}

/// The input of a `"decision"` audit record. A redacted input (any path in
/// `redacted`) is not the action that was decided: dropped fields would make
/// both decisions INVALID_INPUT and hide a change, so it counts as not
/// recorded, as a null input does.
fn decision_record(record: &mut serde_json::Map<String, Value>) -> Line {
    let redacted = record
        .get("redacted")
        .and_then(Value::as_array)
        .is_some_and(|paths| !paths.is_empty());
    let strict = record
        .get("options")
        .and_then(|o| o.get("strict"))
        .and_then(Value::as_bool);
    let id = record.get("id").and_then(Value::as_str).map(str::to_owned);
    match record.get_mut("input").map(Value::take) {
        None | Some(Value::Null) => Line::NoInputRecorded,
        Some(_) if redacted => Line::NoInputRecorded,
        Some(value @ Value::Object(_)) => Line::Input(Input {
            value,
            record: id,
            strict,
        }),
        Some(other) => Line::Unreadable(format!(
            "the audit record's `input` is {}, not an object",
            json_kind(&other)
        )),
    }
}

/// serde_json's message without its position in the line: the caller knows
/// the line, and every line is line 1 to serde_json.
fn json_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&position) {
        Some(m) => format!("not JSON: {m} (column {})", e.column()),
        None => format!("not JSON: {message}"),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_longer_than_the_limit_is_skipped_to_its_end() {
        let mut text = vec![b'x'; MAX_LINE_BYTES + 10];
        text.extend_from_slice(b"\n{}\n");
        let mut buf = Vec::new();
        let mut r = text.as_slice();
        assert_eq!(
            read_line(&mut r, &mut buf).unwrap(),
            (MAX_LINE_BYTES + 11, true)
        );
        assert!(buf.is_empty());
        assert_eq!(read_line(&mut r, &mut buf).unwrap(), (3, false));
        assert_eq!(buf, b"{}\n");
    }

    #[test]
    fn the_fast_path_for_records_agrees_with_reading_the_whole_line() {
        let lines = [
            r#"{"record":"decision","id":"dec_1","input":{"a":1},"redacted":[],"decision":{"x":[1,2]},"options":{"strict":true}}"#,
            r#"{"id":"dec_2","decision":{},"input":{"a":1},"record":"decision"}"#,
            r#"{"record":"decision","input":null}"#,
            r#"{"record":"decision"}"#,
            r#"{"record":"decision","input":{"a":1},"redacted":["$.a"]}"#,
            r#"{"record":"decision","input":{"a":1},"input":{"a":2}}"#,
            r#"{"record":"decision","input":"redacted"}"#,
            r#"{"record":"decision","input":{"a":1},"options":{"strict":"yes"}}"#,
            r#"{"record":"verification","input":{"a":1}}"#,
            r#"{"record":5,"action":{"type":"read"}}"#,
            r#"{"action":{"type":"read"}}"#,
            r#"[{"record":"decision"}]"#,
            r#"42"#,
        ];
        for line in lines.iter().filter(|l| !l.contains(r#""input":{"a":2}"#)) {
            assert_eq!(
                format!("{:?}", parse_line(line.as_bytes())),
                format!("{:?}", parse_document(line.as_bytes())),
                "{line}"
            );
        }
        // A key given twice is refused, as `eval` refuses it, however deep.
        for line in [
            lines[5],
            r#"{"record":"decision","input":{"a":1,"a":2}}"#,
            r#"{"action":{"type":"read","type":"send"}}"#,
        ] {
            assert!(
                matches!(parse_line(line.as_bytes()), Line::Unreadable(ref m) if m.contains("duplicate key")),
                "{line}"
            );
        }
        assert_eq!(
            format!("{:?}", parse_line(b"42")),
            r#"Unreadable("a number is not an action or an audit record (a JSON object)")"#
        );
    }

    #[test]
    fn json_errors_name_the_column() {
        let Line::Unreadable(m) = parse_line(b"{\"a\": }") else {
            panic!("unreadable expected");
        };
        assert_eq!(m, "not JSON: expected value (column 7)");
    }
}
