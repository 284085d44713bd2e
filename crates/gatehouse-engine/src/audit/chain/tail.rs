//! Finding the last record of a log from its end, for the writer: the next
//! record links to it. Reads backwards in blocks, so an append costs the
//! last line, not the whole log.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use super::{LineHash, hash_line};
use crate::audit::log::{MAX_LINE_BYTES, ParsedLine, parse_line};

/// How much is read at a time, backwards.
const BLOCK: u64 = 64 * 1024;

/// The last record of a log, as the next record links to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastRecord {
    /// Its sequence number; 0 when it is unchained (the chain then begins
    /// with seq 1, linking to it).
    pub seq: u64,
    /// The hash of its line.
    pub hash: LineHash,
}

/// The last line that is a record, among the first `len` bytes of `file`;
/// `None` when there is none (the next record links to the genesis value).
/// Lines that are not records (torn fragments) are stepped over, as the
/// chain check steps over them; a complete record missing only its newline
/// counts, as readers read it.
pub fn last_record(file: &mut File, len: u64) -> io::Result<Option<LastRecord>> {
    let mut end = len;
    while end > 0 {
        let (start, bytes) = line_ending_at(file, end)?;
        if let Some(bytes) = bytes {
            // a newline-terminated line: drop the newline
            let text = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
            if let ParsedLine::Record(link, _) = parse_line(text) {
                return Ok(Some(LastRecord {
                    seq: link.map_or(0, |l| l.seq),
                    hash: hash_line(text),
                }));
            }
        }
        end = start;
    }
    Ok(None)
}

/// The line that ends at `end` (exclusive; its newline, if any, is the
/// last byte before `end`): where it starts, and its bytes with the
/// newline, or `None` when longer than [`MAX_LINE_BYTES`] (never read
/// whole).
fn line_ending_at(file: &mut File, end: u64) -> io::Result<(u64, Option<Vec<u8>>)> {
    // the newline that ends this line is not where the search starts
    let search_end = if end > 0 && byte_at(file, end - 1)? == b'\n' {
        end - 1
    } else {
        end
    };
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut held: u64 = end - search_end;
    let mut too_long = false;
    let mut pos = search_end;
    let start = loop {
        if pos == 0 {
            break 0;
        }
        let from = pos.saturating_sub(BLOCK);
        let mut block = vec![0u8; usize::try_from(pos - from).unwrap_or(0)];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut block)?;
        if let Some(i) = block.iter().rposition(|b| *b == b'\n') {
            let tail = block.split_off(i + 1);
            held += tail.len() as u64;
            if !too_long {
                blocks.push(tail);
            }
            break from + i as u64 + 1;
        }
        held += block.len() as u64;
        if held > MAX_LINE_BYTES as u64 {
            // keep looking for the line's start, but hold nothing
            too_long = true;
            blocks.clear();
        } else {
            blocks.push(block);
        }
        pos = from;
    };
    if too_long || held > MAX_LINE_BYTES as u64 + 1 {
        return Ok((start, None));
    }
    let mut line = Vec::with_capacity(usize::try_from(held).unwrap_or(0));
    for b in blocks.iter().rev() {
        line.extend_from_slice(b);
    }
    if search_end < end {
        line.push(b'\n');
    }
    Ok((start, Some(line)))
}

pub(crate) fn byte_at(file: &mut File, at: u64) -> io::Result<u8> {
    let mut b = [0u8; 1];
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(&mut b)?;
    let [byte] = b;
    Ok(byte)
}
