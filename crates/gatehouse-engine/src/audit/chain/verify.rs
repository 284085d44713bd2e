//! The chain check: fed every line of a log in order, it names the first
//! record whose link does not hold, tells torn writes from tampering, and
//! checks an optional checkpoint.
//!
//! Torn writes: a writer killed mid-write leaves a fragment, a line that is
//! not JSON and starts like every chained line ([`LINE_START`], or a prefix
//! of it). The next writer ends that line and links its own record to the
//! last *record*, so a fragment in the middle is a torn write exactly when
//! the chain links across it: the links prove no record was lost there. A
//! fragment at the very end is a torn last line. Any other line that is
//! not a record is tampering.

use serde::Serialize;

use super::{ChainLink, GENESIS_HASH, LINE_START, LineHash, hash_line, hash_text};

/// The most problems a report lists (all are counted).
pub const MAX_LISTED: usize = 100;

/// The most non-record lines held while waiting for the next record to
/// judge them (more are counted and judged as the last one held).
const MAX_PENDING: usize = 1_000;

/// What a line of the log is, as its reader classified it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// A record, with its link when it is chained.
    Record(Option<ChainLink>),
    /// JSON, but not a record (or a record with a malformed link).
    NotRecord,
    /// Not JSON.
    NotJson,
    /// Longer than the reader's maximum line length; not read.
    TooLong,
    /// Empty or only whitespace: no writer writes one, so after the chain
    /// began it is an edit; before, it is ignored (older logs).
    Blank,
}

/// One record (or line) found wrong: the first is what `audit verify` names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// The line it is at, from 1.
    pub line: usize,
    /// The record's sequence number, when it has one.
    pub seq: Option<u64>,
    /// A stable name: `edited`, `missing`, `out_of_order`, `not_a_record`,
    /// `unchained_after_chain`, `checkpoint_mismatch`, `truncated`.
    pub kind: &'static str,
    /// What is wrong, for people.
    pub message: String,
}

/// A fragment an interrupted write left; nothing was lost there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TornWrite {
    /// The fragment's line, from 1.
    pub line: usize,
    /// Its length in bytes.
    pub bytes: u64,
    /// Whether it is the last line of the log (a torn tail).
    pub at_end: bool,
}

/// The verdict on a whole log, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainStatus {
    /// A record was edited, deleted, inserted, reordered or truncated (or a
    /// line that is not a record was written): see `problems`.
    Tampered,
    /// The chain holds, but an interrupted write left a fragment.
    TornWrite,
    /// The chain holds, but some records (or all) have no chain fields:
    /// written before the chain existed, so nothing proves them.
    Unchained,
    /// Every record is chained and every link holds.
    Intact,
}

/// The last chained record: what a checkpoint of this log would hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Head {
    /// Its sequence number.
    pub seq: u64,
    /// `sha256:…` of its line.
    pub head: String,
    /// Its line, from 1.
    pub line: usize,
}

/// What the chain check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChainReport {
    /// The verdict.
    pub status: ChainStatus,
    /// Records read (chained or not).
    pub records: usize,
    /// Records with chain fields.
    pub chained: usize,
    /// Records without (an older gatehouse wrote them).
    pub unchained: usize,
    /// The last chained record, if any.
    pub head: Option<Head>,
    /// The checkpoint checked against, if one was given: `{seq, head}`.
    pub checkpoint: Option<Head>,
    /// Problems found, in log order (at most [`MAX_LISTED`]).
    pub problems: Vec<Problem>,
    /// How many problems there are in all.
    pub problem_count: usize,
    /// Torn writes, in log order (at most [`MAX_LISTED`]).
    pub torn_writes: Vec<TornWrite>,
    /// Lines before the chain that are not records: nothing proves or
    /// disproves them (an older log), so they are only reported.
    pub unchained_bad_lines: Vec<usize>,
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    line: usize,
    bytes: u64,
    /// Not JSON and shaped like the start of a record line.
    fragment: bool,
    /// The `seq` a fragment names, when its number was written whole.
    claims: Option<u64>,
}

/// The `seq` at the start of a fragment, when it got as far as the comma
/// after the number.
fn claimed_seq(bytes: &[u8]) -> Option<u64> {
    let rest = bytes.strip_prefix(LINE_START)?;
    let end = rest.iter().position(|b| !b.is_ascii_digit())?;
    if rest.get(end) != Some(&b',') {
        return None;
    }
    std::str::from_utf8(rest.get(..end)?).ok()?.parse().ok()
}

/// Checks a log's chain one line at a time.
#[derive(Debug)]
pub struct ChainVerifier {
    /// The hash of the last record's line (chained or not).
    last_hash: Option<LineHash>,
    last_line: usize,
    /// The last chained sequence number; 0 before the chain begins.
    last_seq: u64,
    chain_began: bool,
    pending: Vec<Pending>,
    checkpoint: Option<(u64, LineHash)>,
    checkpoint_seen: bool,
    report: ChainReport,
}

impl Default for ChainVerifier {
    fn default() -> ChainVerifier {
        ChainVerifier::new(None)
    }
}

impl ChainVerifier {
    /// A check, against a checkpoint `(seq, head)` when one is given.
    pub fn new(checkpoint: Option<(u64, LineHash)>) -> ChainVerifier {
        ChainVerifier {
            last_hash: None,
            last_line: 0,
            last_seq: 0,
            chain_began: false,
            pending: Vec::new(),
            checkpoint,
            checkpoint_seen: false,
            report: ChainReport {
                status: ChainStatus::Intact,
                records: 0,
                chained: 0,
                unchained: 0,
                head: None,
                checkpoint: checkpoint.map(|(seq, h)| Head {
                    seq,
                    head: hash_text(&h),
                    line: 0,
                }),
                problems: Vec::new(),
                problem_count: 0,
                torn_writes: Vec::new(),
                unchained_bad_lines: Vec::new(),
            },
        }
    }

    /// Takes the next non-blank line: its number, its bytes without the
    /// newline (empty when too long to read) and their length, and what it
    /// is.
    pub fn push(&mut self, line: usize, bytes: &[u8], len: u64, kind: LineKind) {
        match kind {
            LineKind::Record(link) => self.record(line, bytes, link),
            LineKind::NotRecord | LineKind::TooLong => self.hold(line, len, false, None),
            // A blank line holds no record, but it is an edit of the file:
            // gatehouse's writers never write one, before the chain began
            // or after.
            LineKind::Blank => self.hold(line, len, false, None),
            LineKind::NotJson => {
                let fragment = bytes.starts_with(LINE_START)
                    || LINE_START.starts_with(bytes)
                    // a torn write of a writer that predates the chain
                    || (!self.chain_began && bytes.starts_with(b"{\"record\":"));
                self.hold(line, len, fragment, claimed_seq(bytes));
            }
        }
    }

    fn hold(&mut self, line: usize, bytes: u64, fragment: bool, claims: Option<u64>) {
        let p = Pending {
            line,
            bytes,
            fragment,
            claims,
        };
        if self.pending.len() < MAX_PENDING {
            self.pending.push(p);
        } else if let Some(last) = self.pending.last_mut() {
            // judged with the others: a non-fragment among them is tampering
            last.fragment &= fragment;
            last.line = line;
        }
    }

    fn problem(&mut self, line: usize, seq: Option<u64>, kind: &'static str, message: String) {
        self.report.problem_count += 1;
        if self.report.problems.len() < MAX_LISTED {
            self.report.problems.push(Problem {
                line,
                seq,
                kind,
                message,
            });
        }
    }

    fn torn(&mut self, line: usize, bytes: u64, at_end: bool) {
        if self.report.torn_writes.len() < MAX_LISTED {
            self.report.torn_writes.push(TornWrite {
                line,
                bytes,
                at_end,
            });
        }
    }

    /// Judges the lines held since the last record: `linked` says whether
    /// the chain links across them (or, before the chain, whether there is
    /// a chain to judge by at all).
    ///
    /// A crashed writer was writing the record that comes next: a fragment
    /// that names a `seq` must name that one (`last_seq + 1`), else it was
    /// not left by a crash.
    fn settle(&mut self, linked: bool, at_end: bool) {
        let pending = std::mem::take(&mut self.pending);
        let count = pending.len();
        let next = self.last_seq.saturating_add(1);
        for (i, p) in pending.into_iter().enumerate() {
            let last = at_end && i + 1 == count;
            if p.fragment && p.claims.is_some_and(|s| s != next) {
                self.problem(
                    p.line,
                    p.claims,
                    "edited",
                    format!(
                        "a fragment of a record with seq {}, where a crashed writer would have been writing seq {next}: not a torn write",
                        p.claims.unwrap_or(0)
                    ),
                );
                continue;
            }
            if !self.chain_began && !linked {
                // before the chain: nothing to judge these by
                if p.fragment {
                    self.torn(p.line, p.bytes, last);
                } else if self.report.unchained_bad_lines.len() < MAX_LISTED {
                    self.report.unchained_bad_lines.push(p.line);
                }
            } else if p.fragment && (linked || at_end) {
                self.torn(p.line, p.bytes, last);
            } else if p.fragment {
                self.problem(
                    p.line,
                    None,
                    "edited",
                    "not a record, and the chain does not link across it: a record was replaced or damaged here".into(),
                );
            } else {
                self.problem(
                    p.line,
                    None,
                    "not_a_record",
                    "not a record and not a torn write: a line was edited or written here by something other than gatehouse".into(),
                );
            }
        }
    }

    fn record(&mut self, line: usize, bytes: &[u8], link: Option<ChainLink>) {
        let hash = hash_line(bytes);
        self.report.records += 1;
        match link {
            None => {
                self.report.unchained += 1;
                if self.chain_began {
                    self.settle(true, false);
                    self.problem(
                        line,
                        None,
                        "unchained_after_chain",
                        format!(
                            "a record without `seq` and `prev` after the chain began (seq {} is the last before it): inserted, or appended by a gatehouse that predates the chain",
                            self.last_seq
                        ),
                    );
                } else {
                    self.settle(false, false);
                }
            }
            Some(link) => {
                self.report.chained += 1;
                let expected_seq = self.last_seq.saturating_add(1);
                let expected_prev = self.last_hash.unwrap_or(GENESIS_HASH);
                let linked = link.seq == expected_seq && link.prev == expected_prev;
                let had_pending = !self.pending.is_empty();
                let began = self.chain_began;
                self.chain_began = true;
                // lines held before the first chained record are judged as
                // chain lines only when the chain links across them
                if !began && !linked {
                    self.chain_began = false;
                    self.settle(false, false);
                    self.chain_began = true;
                } else {
                    self.settle(linked, false);
                }
                if !(linked || (had_pending && began)) {
                    self.link_problem(line, link, expected_seq, expected_prev);
                }
                self.check_checkpoint(line, link.seq, &hash);
                self.last_seq = link.seq;
                self.report.head = Some(Head {
                    seq: link.seq,
                    head: hash_text(&hash),
                    line,
                });
            }
        }
        self.last_hash = Some(hash);
        self.last_line = line;
    }

    fn link_problem(&mut self, line: usize, link: ChainLink, expected_seq: u64, prev: LineHash) {
        let seq = Some(link.seq);
        if link.seq == expected_seq {
            // the link names the right place but not the right bytes: the
            // record before it changed (or this one's `prev` did)
            if self.last_line == 0 {
                self.problem(
                    line,
                    seq,
                    "edited",
                    format!(
                        "the first record must link to the genesis value ({}), it links to {}: records before it were removed, or it was edited",
                        hash_text(&prev),
                        hash_text(&link.prev)
                    ),
                );
            } else {
                let before = self.last_line;
                self.problem(
                    before,
                    Some(link.seq.saturating_sub(1)).filter(|s| *s > 0),
                    "edited",
                    format!(
                        "this record does not hash to the `prev` of the next record (line {line}, seq {}): it was edited or replaced, or the next record was forged",
                        link.seq
                    ),
                );
            }
        } else if link.seq > expected_seq {
            let last = link.seq - 1;
            let range = if last == expected_seq {
                format!("the record with seq {expected_seq} is")
            } else {
                format!("the records with seq {expected_seq} to {last} are")
            };
            self.problem(
                line,
                seq,
                "missing",
                format!(
                    "seq {} where {expected_seq} was expected: {range} missing here (deleted or moved)",
                    link.seq
                ),
            );
        } else {
            self.problem(
                line,
                seq,
                "out_of_order",
                format!(
                    "seq {} where {expected_seq} was expected: a record was inserted, repeated or moved here (or another log spliced in)",
                    link.seq
                ),
            );
        }
    }

    fn check_checkpoint(&mut self, line: usize, seq: u64, hash: &LineHash) {
        let Some((cp_seq, cp_head)) = self.checkpoint else {
            return;
        };
        if seq != cp_seq || self.checkpoint_seen {
            return;
        }
        self.checkpoint_seen = true;
        if let Some(h) = self.report.checkpoint.as_mut() {
            h.line = line;
        }
        if *hash != cp_head {
            self.problem(
                line,
                Some(seq),
                "checkpoint_mismatch",
                format!(
                    "the checkpoint says seq {seq} hashes to {}, this line hashes to {}: it (or a record before it) was rewritten since the checkpoint",
                    hash_text(&cp_head),
                    hash_text(hash)
                ),
            );
        }
    }

    /// The report, once every line was pushed. `lines` is the number of
    /// lines read (where a truncation is reported).
    pub fn finish(mut self, lines: usize) -> ChainReport {
        self.settle(false, true);
        if let Some((cp_seq, _)) = self.checkpoint
            && !self.checkpoint_seen
        {
            self.problem(
                    lines.max(1),
                    None,
                    "truncated",
                    format!(
                        "the checkpoint covers seq {cp_seq}, but the log ends at seq {}: records were removed from the end (or this is not the checkpointed log)",
                        self.last_seq
                    ),
                );
        }
        let r = &mut self.report;
        r.status = if r.problem_count > 0 {
            ChainStatus::Tampered
        } else if !r.torn_writes.is_empty() {
            ChainStatus::TornWrite
        } else if r.unchained > 0 || !r.unchained_bad_lines.is_empty() {
            ChainStatus::Unchained
        } else {
            ChainStatus::Intact
        };
        self.report
    }
}
