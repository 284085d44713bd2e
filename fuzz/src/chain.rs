//! The `chain` fuzz target: bytes as an audit log through the log reader
//! and the hash-chain check (`gatehouse audit verify`).
//!
//! The first byte picks the mode:
//!
//! - even: the rest is a log, read as is. The reader must not panic, and
//!   the verdict must agree with the findings (tampered exactly when there
//!   is a problem; a torn tail only at the end).
//! - odd: the rest is a list of edits (`op`, two position bytes, a byte)
//!   applied to a valid chained log. Verified against a checkpoint of the
//!   original, a log that is not reported as tampered must still hold every
//!   original record line, unchanged and in order, before anything else
//!   (lines added between them may only be torn writes: nothing lost).

use std::sync::OnceLock;

use gatehouse::audit::chain::{
    ChainLink, ChainReport, ChainStatus, GENESIS_HASH, LineHash, hash_line,
};
use gatehouse::audit::log::{LogEntry, LogReader, ParsedLine, parse_line};

/// The body of the `chain` target.
pub fn chain(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        raw(rest);
    } else {
        edited(rest);
    }
}

fn read(bytes: &[u8], checkpoint: Option<(u64, LineHash)>) -> (ChainReport, usize) {
    let mut reader = LogReader::with_checkpoint(bytes, checkpoint);
    let mut records = 0;
    for entry in &mut reader {
        match entry {
            Ok(LogEntry::Record(_)) => records += 1,
            Ok(_) => {}
            Err(e) => panic!("reading from memory cannot fail: {e}"),
        }
    }
    (reader.finish(), records)
}

fn raw(bytes: &[u8]) {
    let (report, records) = read(bytes, None);
    assert_eq!(report.records, records, "{report:#?}");
    assert_eq!(report.chained + report.unchained, records);
    assert_eq!(
        report.status == ChainStatus::Tampered,
        report.problem_count > 0,
        "{report:#?}"
    );
    assert!(report.problems.len() <= report.problem_count);
    let at_end = report.torn_writes.iter().filter(|t| t.at_end).count();
    assert!(at_end <= 1, "{report:#?}");
    if let Some(t) = report.torn_writes.last()
        && t.at_end
    {
        assert!(report.torn_writes.iter().all(|u| u.line <= t.line));
    }
}

/// A valid chained log of verification records, and the checkpoint of its
/// last record.
fn valid_log() -> &'static (Vec<u8>, (u64, LineHash)) {
    static LOG: OnceLock<(Vec<u8>, (u64, LineHash))> = OnceLock::new();
    LOG.get_or_init(|| {
        let mut out = Vec::new();
        let mut prev = GENESIS_HASH;
        let mut seq = 0;
        for n in 1..=4u64 {
            let record = format!(
                r#"{{"record":"verification","id":"ver_{n:032x}","time":"2026-11-22T09:00:0{n}Z","policy":{{"name":"p","version":"1","digest":"sha256:{n:064x}"}},"action_digest":"sha256:{n:064x}","decision_id":null,"input":{{"action":{{"amount":{n}}}}},"redacted":[],"approvals":[],"verification":{{"verdict":"pending"}}}}"#
            );
            let line = ChainLink::after(seq, prev)
                .line(&record)
                .unwrap_or_default();
            seq += 1;
            prev = hash_line(line.as_bytes());
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        (out, (seq, prev))
    })
}

fn edited(ops: &[u8]) {
    let (original, checkpoint) = valid_log();
    let (report, _) = read(original, Some(*checkpoint));
    assert_eq!(report.status, ChainStatus::Intact, "{report:#?}");
    // every byte but the last newline is covered by the checkpoint
    let covered = original.len() - 1;
    let mut log = original.clone();
    for op in ops.chunks_exact(4).take(16) {
        let [kind, hi, lo, byte] = [op[0], op[1], op[2], op[3]];
        let at = usize::from(u16::from_be_bytes([hi, lo]));
        match kind % 4 {
            0 if !log.is_empty() => {
                let i = at % log.len();
                log[i] = byte;
            }
            1 => {
                let i = at % (log.len() + 1);
                log.insert(i, byte);
            }
            2 if !log.is_empty() => {
                let i = at % log.len();
                log.remove(i);
            }
            _ => log.push(byte),
        }
    }
    let (report, _) = read(&log, Some(*checkpoint));
    if report.status != ChainStatus::Tampered {
        let records = |bytes: &[u8]| -> Vec<Vec<u8>> {
            bytes
                .split(|b| *b == b'\n')
                .filter(|l| matches!(parse_line(l), ParsedLine::Record(..)))
                .map(<[u8]>::to_vec)
                .collect()
        };
        let (before, after) = (records(original), records(&log));
        assert!(
            after.starts_with(&before),
            "a record changed or went missing unseen:\n{}\n{report:#?}",
            String::from_utf8_lossy(&log)
        );
        let others = report.torn_writes.len();
        assert!(
            report.problems.is_empty() && (others > 0 || log.starts_with(&original[..covered])),
            "{report:#?}"
        );
    }
}
