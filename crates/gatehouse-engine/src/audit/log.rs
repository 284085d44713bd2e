//! The audit log: chained records as JSON lines, appended durably under a
//! lock, read tolerantly with a bounded line length.
//!
//! Writing: [`AuditLog::append`] takes an exclusive lock on the file
//! (`flock` on Unix, `LockFileEx` on Windows; advisory: every gatehouse
//! writer takes it), then, under the lock:
//!
//! 1. finds the last record, reading backwards from the end of the file (or
//!    from a cache, when the file's length and modification time are what
//!    this writer left),
//! 2. ends the last line with a newline if another writer was killed
//!    mid-write and left a fragment, so the new record starts on a line of
//!    its own whatever other writers did,
//! 3. writes the record, chained to the last one (`seq`, `prev`: see
//!    [`chain`](super::chain)), in one `write_all`, and flushes it to the
//!    disk with `fsync` (`sync_data`) before the lock is released and
//!    `append` returns.
//!
//! A crash can therefore leave at most one incomplete line ("torn"), never
//! damage another record, and every writer, thread or process, extends the
//! same chain.
//!
//! Reading: [`LogReader`] goes line by line, never holds more than
//! [`MAX_LINE_BYTES`] of a line, and never fails on the contents: a line
//! that is not a record is reported with its number and the rest are read;
//! an incomplete last line (no newline, not valid JSON) is reported as the
//! torn tail. As it reads, it checks the chain ([`LogReader::finish`]).

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value as Json;

use super::chain::{
    ChainLink, ChainReport, ChainVerifier, GENESIS_HASH, LastRecord, LineHash, LineKind, hash_line,
    last_record,
};
use super::record::AuditRecord;

/// The longest line a log may hold, in bytes (64 MiB, four times the
/// largest input gatehouse reads). The writer refuses a longer record;
/// readers skip a longer line without reading it into memory and report it
/// as a line that is not a record.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// What this writer left at the end of the file after its last append: as
/// long as the file's length and modification time are unchanged, no one
/// else wrote, and the last record need not be read again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cache {
    len: u64,
    modified: Option<SystemTime>,
    last: LastRecord,
}

/// An audit log opened for appending.
#[derive(Debug)]
pub struct AuditLog {
    file: File,
    sync: bool,
    cache: Option<Cache>,
}

impl AuditLog {
    /// Opens (or creates) the log at `path` for appending. Nothing is
    /// written until [`append`](AuditLog::append): a torn last line left by
    /// a crashed writer is ended under the lock by the next append.
    pub fn open(path: &Path) -> io::Result<AuditLog> {
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        if !existed {
            file.sync_all()?;
            sync_parent_dir(path)?;
        }
        Ok(AuditLog {
            file,
            sync: true,
            cache: None,
        })
    }

    /// The same log without the `fsync` after each record: for benchmarks
    /// and tests only. A crash (of the machine, not the process) may then
    /// lose records that `append` reported written.
    pub fn without_fsync(mut self) -> AuditLog {
        self.sync = false;
        self
    }

    /// Appends one record as one chained line, durably: under an exclusive
    /// lock, the line is written whole in one write and flushed with fsync
    /// before this returns `Ok`. A record whose line would be longer than
    /// [`MAX_LINE_BYTES`] is refused (`InvalidInput`), so every line written
    /// can be read back.
    // `File::lock` is stable since Rust 1.89, past the crate's declared
    // MSRV (1.85): the MSRV must move to 1.89 (see docs/audit.md).
    #[clippy::msrv = "1.89"]
    pub fn append(&mut self, record: &AuditRecord) -> io::Result<()> {
        let json = record.to_json_line().map_err(io::Error::other)?;
        self.file.lock()?;
        let written = self.append_locked(&json);
        if written.is_err() {
            // what is on the disk is unknown now: read it again next time
            self.cache = None;
        }
        let unlocked = self.file.unlock();
        written.and(unlocked)
    }

    fn append_locked(&mut self, json: &str) -> io::Result<()> {
        let meta = self.file.metadata()?;
        let (len, modified) = (meta.len(), meta.modified().ok());
        let (last, ends_mid_line) = match self.cache {
            Some(c) if c.len == len && c.modified == modified => (Some(c.last), false),
            _ => {
                let last = last_record(&mut self.file, len)?;
                let mid = len > 0 && super::chain::tail::byte_at(&mut self.file, len - 1)? != b'\n';
                (last, mid)
            }
        };
        let link = match last {
            Some(l) => ChainLink::after(l.seq, l.hash),
            None => ChainLink {
                seq: 1,
                prev: GENESIS_HASH,
            },
        };
        let line = link
            .line(json)
            .ok_or_else(|| io::Error::other("a record is not a JSON object"))?;
        if line.len() > MAX_LINE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the record is {} bytes, more than the {MAX_LINE_BYTES} a log line may hold",
                    line.len()
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(line.len() + 2);
        if ends_mid_line {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.file.write_all(&bytes)?;
        if self.sync {
            self.file.sync_data()?;
        }
        let meta = self.file.metadata()?;
        self.cache = Some(Cache {
            len: meta.len(),
            modified: meta.modified().ok(),
            last: LastRecord {
                seq: link.seq,
                hash: hash_line(line.as_bytes()),
            },
        });
        Ok(())
    }

    /// Opens the log at `path`, appends one record durably and closes it.
    pub fn append_to(path: &Path, record: &AuditRecord) -> io::Result<()> {
        AuditLog::open(path)?.append(record)
    }
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

/// One line as [`parse_line`] reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum ParsedLine {
    /// A record, with its chain link when it has one.
    Record(Option<ChainLink>, Box<AuditRecord>),
    /// JSON, but not a record: why.
    NotRecord(String),
    /// Not JSON: the parser's message.
    NotJson(String),
}

impl ParsedLine {
    /// The kind of line, for the chain check.
    pub fn kind(&self) -> LineKind {
        match self {
            ParsedLine::Record(link, _) => LineKind::Record(*link),
            ParsedLine::NotRecord(_) => LineKind::NotRecord,
            ParsedLine::NotJson(_) => LineKind::NotJson,
        }
    }
}

/// Reads one line (without its newline): a record with its link, JSON that
/// is not a record, or not JSON. Every field of a record must be one the
/// record format has: an unknown one makes the line not a record.
pub fn parse_line(text: &[u8]) -> ParsedLine {
    let mut value = match serde_json::from_slice::<Json>(text) {
        Ok(v) => v,
        Err(e) => return ParsedLine::NotJson(format!("malformed JSON: {e}")),
    };
    let link = match value.as_object_mut().map(ChainLink::take_from) {
        Some(Ok(link)) => link,
        Some(Err(e)) => return ParsedLine::NotRecord(format!("invalid chain fields: {e}")),
        None => None,
    };
    match AuditRecord::from_value(value) {
        Ok(record) => ParsedLine::Record(link, Box::new(record)),
        Err(e) => ParsedLine::NotRecord(e),
    }
}

/// One raw line as [`LineReader`] returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawLine {
    /// Its length in bytes, without the newline (also when too long).
    pub len: u64,
    /// Whether it ended with a newline (else it is the end of the file).
    pub complete: bool,
    /// Whether it was longer than the limit (its bytes were not kept).
    pub too_long: bool,
}

/// Reads lines of at most a given length: a longer line is skipped as it
/// is read, never held whole (a 2 GB line costs one buffer, not 2 GB).
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    max: usize,
}

impl<R: BufRead> LineReader<R> {
    /// Lines of at most `max` bytes (without the newline) from `reader`.
    pub fn new(reader: R, max: usize) -> LineReader<R> {
        LineReader { reader, max }
    }

    /// The next line into `buf` (cleared first; the newline is not kept,
    /// every other byte is: the chain hashes exact bytes); `None` at the
    /// end.
    pub fn next_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<RawLine>> {
        buf.clear();
        let mut len: u64 = 0;
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if !any {
                    return Ok(None);
                }
                return Ok(Some(finish_line(buf, len, false, too_long, self.max)));
            }
            any = true;
            let (chunk, found) = match available.iter().position(|b| *b == b'\n') {
                Some(i) => (available.get(..i).unwrap_or_default(), true),
                None => (available, false),
            };
            let used = chunk.len() + usize::from(found);
            len += chunk.len() as u64;
            if !too_long {
                if buf.len() + chunk.len() > self.max {
                    too_long = true;
                    buf.clear();
                } else {
                    buf.extend_from_slice(chunk);
                }
            }
            self.reader.consume(used);
            if found {
                return Ok(Some(finish_line(buf, len, true, too_long, self.max)));
            }
        }
    }
}

/// Decides whether the line is too long (its bytes are then dropped).
fn finish_line(
    buf: &mut Vec<u8>,
    len: u64,
    complete: bool,
    mut too_long: bool,
    max: usize,
) -> RawLine {
    if buf.len() > max {
        too_long = true;
    }
    if too_long {
        buf.clear();
    }
    RawLine {
        len,
        complete,
        too_long,
    }
}

/// A record read from a log, with its line number (from 1).
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedRecord {
    /// Line number, from 1.
    pub line: usize,
    /// Its place in the chain; `None` for a record written before the
    /// chain existed.
    pub chain: Option<ChainLink>,
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
/// are errors; blank lines are skipped. Every line also goes through the
/// chain check, whose report [`LogReader::finish`] returns.
#[derive(Debug)]
pub struct LogReader<R> {
    lines: LineReader<R>,
    buf: Vec<u8>,
    line: usize,
    done: bool,
    chain: ChainVerifier,
}

impl<R: BufRead> LogReader<R> {
    /// Reads from any buffered reader.
    pub fn new(reader: R) -> LogReader<R> {
        LogReader::with_checkpoint(reader, None)
    }

    /// Reads from any buffered reader, checking the chain against a
    /// checkpoint `(seq, head)`.
    pub fn with_checkpoint(reader: R, checkpoint: Option<(u64, LineHash)>) -> LogReader<R> {
        LogReader {
            lines: LineReader::new(reader, MAX_LINE_BYTES),
            buf: Vec::new(),
            line: 0,
            done: false,
            chain: ChainVerifier::new(checkpoint),
        }
    }

    /// The chain check's report on the lines read so far (all of them once
    /// the iterator has ended).
    pub fn finish(self) -> ChainReport {
        self.chain.finish(self.line)
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
        loop {
            if self.done {
                return None;
            }
            let raw = match self.lines.next_line(&mut self.buf) {
                Ok(Some(raw)) => raw,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.line += 1;
            let line = self.line;
            if raw.too_long {
                self.chain.push(line, &[], raw.len, LineKind::TooLong);
                return Some(Ok(LogEntry::Bad(BadLine {
                    line,
                    error: format!(
                        "{} bytes, longer than the {MAX_LINE_BYTES} a log line may hold (not read)",
                        raw.len
                    ),
                })));
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                // no writer writes one; the chain check judges it
                self.chain.push(line, &self.buf, raw.len, LineKind::Blank);
                continue;
            }
            let parsed = parse_line(&self.buf);
            self.chain.push(line, &self.buf, raw.len, parsed.kind());
            return Some(Ok(match parsed {
                // written whole but for the newline: the content is intact
                ParsedLine::Record(chain, record) => LogEntry::Record(Box::new(LoggedRecord {
                    line,
                    chain,
                    record: *record,
                })),
                ParsedLine::NotRecord(error) => LogEntry::Bad(BadLine { line, error }),
                ParsedLine::NotJson(_) if !raw.complete => LogEntry::TornTail(TornTail {
                    line,
                    bytes: self.buf.len(),
                }),
                ParsedLine::NotJson(error) => LogEntry::Bad(BadLine { line, error }),
            }));
        }
    }
}

/// Everything read from a log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogContents {
    /// The records, in order.
    pub records: Vec<LoggedRecord>,
    /// The incomplete last line, if the last write was interrupted.
    pub torn_tail: Option<TornTail>,
    /// Complete lines that are not records.
    pub bad_lines: Vec<BadLine>,
    /// What the chain check found.
    pub chain: ChainReport,
}

impl Default for LogContents {
    fn default() -> LogContents {
        LogContents {
            records: Vec::new(),
            torn_tail: None,
            bad_lines: Vec::new(),
            chain: ChainVerifier::default().finish(0),
        }
    }
}

impl LogContents {
    /// Collects a whole log. Fails only on an I/O error.
    pub fn read(reader: impl BufRead) -> io::Result<LogContents> {
        let mut out = LogContents::default();
        let mut entries = LogReader::new(reader);
        for entry in &mut entries {
            match entry? {
                LogEntry::Record(r) => out.records.push(*r),
                LogEntry::Bad(b) => out.bad_lines.push(b),
                LogEntry::TornTail(t) => out.torn_tail = Some(t),
            }
        }
        out.chain = entries.finish();
        Ok(out)
    }
}

/// Reads the whole log at `path`. Fails only when the file cannot be read;
/// bad lines, a torn tail and the chain's state are reported in the result.
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
