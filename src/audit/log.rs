//! The audit log: records as JSON lines, appended durably, read tolerantly.
//!
//! Writing: each record is serialized to one line and written with a single
//! `write_all` on a file opened for appending, then flushed to the disk with
//! `fsync` (`sync_data`) before [`AuditLog::append`] returns. A crash can
//! therefore leave at most the last line incomplete ("torn"), never damage
//! an earlier one. Opening a log whose last line is torn first ends that
//! line, so the next record starts on a line of its own. On a local file
//! system, appends from several processes do not interleave within a line.
//!
//! Reading: [`LogReader`] goes line by line and never fails on the contents:
//! a line that is not a record is reported with its number and the rest
//! are read; an incomplete last line (no newline, not valid JSON) is
//! reported as the torn tail.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::Serialize;

use super::record::AuditRecord;

/// An audit log opened for appending.
#[derive(Debug)]
pub struct AuditLog {
    file: File,
}

impl AuditLog {
    /// Opens (or creates) the log at `path` for appending. When the file
    /// ends in the middle of a line (a write was interrupted), that line is
    /// ended first, so it stays a single unreadable line instead of
    /// swallowing the next record.
    pub fn open(path: &Path) -> io::Result<AuditLog> {
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        if existed && ends_mid_line(&mut file)? {
            file.write_all(b"\n")?;
            file.sync_data()?;
        }
        if !existed {
            file.sync_all()?;
            sync_parent_dir(path)?;
        }
        Ok(AuditLog { file })
    }

    /// Appends one record as one line, durably: the line is written whole
    /// in one write and flushed with fsync before this returns `Ok`.
    pub fn append(&mut self, record: &AuditRecord) -> io::Result<()> {
        let mut line = record.to_json_line().map_err(io::Error::other)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()
    }

    /// Opens the log at `path`, appends one record durably and closes it.
    pub fn append_to(path: &Path, record: &AuditRecord) -> io::Result<()> {
        AuditLog::open(path)?.append(record)
    }
}

fn ends_mid_line(file: &mut File) -> io::Result<bool> {
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last != *b"\n")
}

/// Makes a newly created file's directory entry durable too.
#[cfg(unix)]
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

#[cfg(not(unix))]
fn sync_parent_dir(_path: &Path) -> io::Result<()> {
    // Directories cannot be opened for fsync here; the entry is made
    // durable with the file's own metadata.
    Ok(())
}

/// A record read from a log, with its line number (from 1).
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedRecord {
    /// Line number, from 1.
    pub line: usize,
    /// The record.
    pub record: AuditRecord,
}

/// A complete line (it ends with a newline) that is not a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadLine {
    /// Line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub error: String,
}

/// An incomplete last line: no newline and not valid JSON, what an
/// interrupted write leaves. Every line before it is unaffected.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TornTail {
    /// Line number, from 1.
    pub line: usize,
    /// How many bytes of it were written.
    pub bytes: usize,
}

/// One line's worth of a log.
#[derive(Clone, Debug, PartialEq)]
pub enum LogEntry {
    /// A record (boxed: records are large, the other entries small).
    Record(Box<LoggedRecord>),
    /// A line that is not a record.
    Bad(BadLine),
    /// The torn last line.
    TornTail(TornTail),
}

/// Reads a log line by line: an iterator of [`LogEntry`]. Only I/O errors
/// are errors; blank lines are skipped.
#[derive(Debug)]
pub struct LogReader<R> {
    reader: R,
    line: usize,
    done: bool,
}

impl<R: BufRead> LogReader<R> {
    /// Reads from any buffered reader.
    pub fn new(reader: R) -> LogReader<R> {
        LogReader {
            reader,
            line: 0,
            done: false,
        }
    }
}

impl LogReader<io::BufReader<File>> {
    /// Opens the log at `path`.
    pub fn open(path: &Path) -> io::Result<LogReader<io::BufReader<File>>> {
        Ok(LogReader::new(io::BufReader::new(File::open(path)?)))
    }
}

impl<R: BufRead> Iterator for LogReader<R> {
    type Item = io::Result<LogEntry>;

    fn next(&mut self) -> Option<io::Result<LogEntry>> {
        let mut buf = Vec::new();
        loop {
            if self.done {
                return None;
            }
            buf.clear();
            match self.reader.read_until(b'\n', &mut buf) {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
            self.line += 1;
            let complete = buf.last() == Some(&b'\n');
            if complete {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let parsed = serde_json::from_slice::<serde_json::Value>(&buf);
            return Some(Ok(match parsed {
                // written whole but for the newline: the content is intact
                Ok(value) => match AuditRecord::from_value(value) {
                    Ok(record) => LogEntry::Record(Box::new(LoggedRecord {
                        line: self.line,
                        record,
                    })),
                    Err(error) => LogEntry::Bad(BadLine {
                        line: self.line,
                        error,
                    }),
                },
                Err(_) if !complete => LogEntry::TornTail(TornTail {
                    line: self.line,
                    bytes: buf.len(),
                }),
                Err(e) => LogEntry::Bad(BadLine {
                    line: self.line,
                    error: format!("malformed JSON: {e}"),
                }),
            }));
        }
    }
}

/// Everything read from a log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogContents {
    /// The records, in order.
    pub records: Vec<LoggedRecord>,
    /// The incomplete last line, if the last write was interrupted.
    pub torn_tail: Option<TornTail>,
    /// Complete lines that are not records.
    pub bad_lines: Vec<BadLine>,
}

impl LogContents {
    /// Collects a whole log. Fails only on an I/O error.
    pub fn read(reader: impl BufRead) -> io::Result<LogContents> {
        let mut out = LogContents::default();
        for entry in LogReader::new(reader) {
            match entry? {
                LogEntry::Record(r) => out.records.push(*r),
                LogEntry::Bad(b) => out.bad_lines.push(b),
                LogEntry::TornTail(t) => out.torn_tail = Some(t),
            }
        }
        Ok(out)
    }
}

/// Reads the whole log at `path`. Fails only when the file cannot be read;
/// bad lines and a torn tail are reported in the result.
pub fn read_log(path: &Path) -> io::Result<LogContents> {
    LogContents::read(io::BufReader::new(File::open(path)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::redact::Redaction;
    use crate::eval::EvalOptions;
    use crate::values::Timestamp;
    use crate::{Decision, Policy};

    fn record(n: u32) -> (AuditRecord, Decision) {
        let p = Policy::from_source(
            "t.gate",
            "policy \"t\" version \"1\"\nschema { action.n: number }\ntier 0 \"none\" { outcome auto }\ndefault tier 0 because NO_RULE_MATCHED\n",
        )
        .unwrap();
        let input = serde_json::json!({"action": {"n": n}});
        let d = p.evaluate(&input);
        let r = AuditRecord::decision(
            &d,
            Some(&input),
            &EvalOptions::default(),
            &Redaction::KeepAll,
            Timestamp::parse("2026-11-22T10:00:00Z").unwrap(),
        );
        (r, d)
    }

    #[test]
    fn bad_lines_are_skipped_and_a_torn_tail_is_reported() {
        let (a, _) = record(1);
        let (b, _) = record(2);
        let text = format!(
            "{}\nnot json\n\n{{\"record\":\"nope\"}}\n{}\n{{\"record\":\"deci",
            a.to_json_line().unwrap(),
            b.to_json_line().unwrap()
        );
        let log = LogContents::read(text.as_bytes()).unwrap();
        assert_eq!(log.records.len(), 2);
        assert_eq!(
            (log.records[0].line, log.records[1].line),
            (1, 5),
            "blank lines count"
        );
        assert_eq!(log.records[0].record, a);
        assert_eq!(
            log.bad_lines.iter().map(|b| b.line).collect::<Vec<_>>(),
            [2, 4]
        );
        assert!(log.bad_lines[1].error.contains("unknown record kind"));
        assert_eq!(log.torn_tail, Some(TornTail { line: 6, bytes: 15 }));
    }

    #[test]
    fn a_last_line_missing_only_its_newline_is_a_record() {
        let (a, _) = record(1);
        let log = LogContents::read(a.to_json_line().unwrap().as_bytes()).unwrap();
        assert_eq!(log.records.len(), 1);
        assert!(log.torn_tail.is_none());
    }

    #[test]
    fn a_broken_line_with_its_newline_is_bad_not_torn() {
        let log = LogContents::read("{\"record\":\n".as_bytes()).unwrap();
        assert!(log.torn_tail.is_none());
        assert_eq!(log.bad_lines.len(), 1);
    }
}
