//! The action digest computed straight from JSON text, without building a
//! `serde_json::Value`: the fast path for `gatehouse eval --jsonl`.
//!
//! The contract is equality with the tree path: for text that
//! [`crate::input::parse`] accepts as JSON, [`action_digest_text`] returns
//! exactly what [`action_digest`] returns for the parsed document. Both
//! paths share the number and string canonicalization of
//! [`super::digest`] (`canonical_number`, `write_string`); what is new
//! here is reading the text (unescaping strings as serde_json does) and
//! ordering the keys. Two shortcuts skip those functions where their
//! output is known to be their input: a string without escapes is copied
//! as written (`write_string` changes only `"`, `\` and control
//! characters, none of which such a string holds), and a plain number
//! literal of at most 15 significant digits is copied as written
//! (`is_canonical_literal` says which, and why; tests hold it to
//! `canonical_number`). serde_json keeps a number's text not quite as
//! written (`1E3` as `1e+3`); every other literal goes to
//! `canonical_number` in serde_json's spelling.
//!
//! How: one pass over the text writes the RFC 8785 form into a reused
//! buffer as it reads: scalars in canonical form, containers with their
//! brackets and commas (text that is its own canonical form, such as a
//! compact run of tokens, is copied in one piece). Each open object keeps a
//! record per member (the key, where the member starts in the output).
//! While the keys come in UTF-16 code unit order, nothing more is done;
//! otherwise, when the object closes, its member records are sorted and
//! its members rewritten in that order (same bytes, so the records of the
//! enclosing objects stay valid). Then SHA-256. [`DigestScratch`] keeps
//! every buffer between calls, so in steady state a digest allocates only
//! its result string, and `canonical_number`'s for a number not already in
//! canonical spelling.
//!
//! The reader is strict (it accepts only the JSON grammar serde_json
//! accepts) and gives up on anything it does not handle itself; the digest
//! is then computed the slow way, from the parsed document, so the result
//! never differs:
//!
//! - anything that is not JSON (including raw control characters in
//!   strings, invalid escapes, lone surrogates, trailing characters);
//! - nesting deeper than [`MAX_INPUT_DEPTH`] (which the reader refuses);
//! - a key given twice in one object (which the reader refuses);
//! - an object whose first key starts with `$serde_json::private::`:
//!   under `arbitrary_precision`, serde_json reads an object whose first key
//!   is its private number token as a number, not as an object;
//! - text longer than `u32::MAX` bytes, or whose canonical form is (offsets
//!   are `u32`; the reader's limit is far below).
//!
//! Why hand-written: this is measured speed work. The crate way is
//! serde_json's `Value` tree, then the canonical writer of [`super::digest`]
//! (RFC 8785 crates such as `serde_jcs` serialize a serde value, so they
//! need that tree too); `cargo bench --bench digest` times both over the
//! 1 000 generated actions of benches/common: `action_digest_text` 1.87 ms,
//! `parse+action_digest` 14.3 ms, the tree already built 3.84 ms
//! (2026-12-05, `--sample-size 10`, 2 shared cores). The hex digits are the
//! `hex` crate's, written into a stack buffer.

use std::cmp::Ordering;

use serde_json::Value as Json;
use sha2::{Digest as _, Sha256};

use super::digest::{action_digest, canonical_number, write_string};
use crate::limits::MAX_INPUT_DEPTH;

/// A string of the text: its content is `start..end` of the text (no
/// escapes; the quotes are at `start - 1` and `end`), or, when it had
/// escapes, `start..end` of [`DigestScratch::unescaped`].
///
/// (`usize`, not `u32` as in [`Member`]: a `Str` is moved right after it
/// is built, and two 4-byte stores read back as one 8-byte load stall.)
#[derive(Clone, Copy, Debug)]
struct Str {
    start: usize,
    end: usize,
    unescaped: bool,
}

/// A member of an open object.
#[derive(Clone, Copy, Debug)]
struct Member {
    /// [`utf16_prefix`] of the key: decides most comparisons alone.
    prefix: u64,
    key: Str,
    /// Where the member (`"key":value`) starts in the output.
    at: u32,
    /// Where it ends: set when the object closes.
    end: u32,
}

/// An open object or array.
#[derive(Clone, Copy, Debug)]
struct Frame {
    object: bool,
    /// Where its members start in [`DigestScratch::members`].
    members: usize,
    /// Where its content starts in the output (after the bracket).
    body: usize,
    /// Whether its keys so far came in order (strictly increasing).
    sorted: bool,
}

/// Reusable buffers for [`action_digest_text`]: one per thread or worker,
/// reused for every document.
#[derive(Debug, Default)]
pub struct DigestScratch {
    /// The open containers.
    frames: Vec<Frame>,
    /// The members of the open objects, one run per object, innermost last.
    members: Vec<Member>,
    /// The unescaped content of strings that had escapes.
    unescaped: String,
    /// The canonical text (UTF-8: copied from the text at character
    /// boundaries, or written by `write_string` and `canonical_number`).
    canonical: Vec<u8>,
    /// An object's content while its members are put in order.
    body: Vec<u8>,
    /// A number literal in serde_json's spelling.
    number: String,
    /// One unescaped string in canonical form.
    escaped: String,
}

/// Capacity (in elements) above which a buffer is released after use, so
/// one huge document does not pin its memory for the life of the scratch.
const KEEP_CAPACITY: usize = 1 << 20;

impl DigestScratch {
    /// Empty buffers; they grow to the largest document seen.
    pub fn new() -> DigestScratch {
        DigestScratch::default()
    }

    fn release_if_huge(&mut self) {
        if self.frames.capacity() > KEEP_CAPACITY {
            self.frames = Vec::new();
        }
        if self.members.capacity() > KEEP_CAPACITY {
            self.members = Vec::new();
        }
        if self.unescaped.capacity() > KEEP_CAPACITY {
            self.unescaped = String::new();
        }
        if self.canonical.capacity() > KEEP_CAPACITY {
            self.canonical = Vec::new();
        }
        if self.body.capacity() > KEEP_CAPACITY {
            self.body = Vec::new();
        }
        if self.number.capacity() > KEEP_CAPACITY {
            self.number = String::new();
        }
        if self.escaped.capacity() > KEEP_CAPACITY {
            self.escaped = String::new();
        }
    }
}

/// `action_digest` of the document this text parses to, computed from the
/// text: `sha256:<hex>`.
///
/// The caller guarantees that [`crate::input::parse`] with
/// [`crate::input::Syntax::Json`] accepts the text (valid JSON, no
/// duplicate keys, depth within the limit); the result is then exactly
/// [`action_digest`] of the parsed document. A leading byte order mark is
/// skipped, as the reader skips it.
///
/// Outside that guarantee it never panics: JSON that serde_json reads gets
/// the digest of what serde_json reads (for a duplicate key, the last
/// value), and text that is not JSON gets the hash of `<not JSON>` followed
/// by the text, which no document's canonical form (always JSON) can equal.
pub fn action_digest_text(text: &str, scratch: &mut DigestScratch) -> String {
    let mut out = String::with_capacity(DIGEST_LEN);
    push_action_digest_text(text, scratch, &mut out);
    out
}

/// [`action_digest_text`], appended to `out` (no allocation when `out` has
/// room for the 71 characters).
pub fn push_action_digest_text(text: &str, scratch: &mut DigestScratch, out: &mut String) {
    match write_canonical(text, scratch) {
        Some(()) => push_hex_digest(&Sha256::digest(&scratch.canonical), out),
        None => out.push_str(&slow_digest(text)),
    }
    scratch.release_if_huge();
}

/// The RFC 8785 canonical form of the document this text parses to, as
/// [`super::digest::canonical_json`] writes it; `None` when the text is
/// outside what this reader handles (see the module documentation: not
/// JSON, too deep, a duplicate key, serde_json's private token as a first
/// key). The text is borrowed from `scratch` until its next use.
pub fn canonical_text<'s>(text: &str, scratch: &'s mut DigestScratch) -> Option<&'s str> {
    write_canonical(text, scratch)?;
    std::str::from_utf8(&scratch.canonical).ok()
}

/// The canonical form into `scratch.canonical`; `None` as for
/// [`canonical_text`].
fn write_canonical(text: &str, scratch: &mut DigestScratch) -> Option<()> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    span(text.len())?;
    scratch.frames.clear();
    scratch.members.clear();
    scratch.unescaped.clear();
    scratch.canonical.clear();
    Reader {
        text,
        bytes: text.as_bytes(),
        s: scratch,
        run: 0..0,
    }
    .document()
}

/// Length of `sha256:` and 64 hex digits.
const DIGEST_LEN: usize = 7 + 64;

/// Appends `sha256:` and the hash in lowercase hex, as [`action_digest`]
/// writes it.
fn push_hex_digest(hash: &[u8], out: &mut String) {
    // Into a stack buffer: no allocation per digest. A SHA-256 hash is 32
    // bytes, so the buffer's length always fits (an error leaves zeros,
    // which the digest tests would catch).
    let mut digits = [0u8; 64];
    let _ = hex::encode_to_slice(hash, &mut digits);
    out.push_str("sha256:");
    // ASCII hex digits: always UTF-8
    out.push_str(std::str::from_utf8(&digits).unwrap_or_default());
}

/// The digest the slow way: for text the fast reader leaves alone.
fn slow_digest(text: &str) -> String {
    match crate::input::parse(text, crate::input::Syntax::Json) {
        Ok(value) => action_digest(&value),
        Err(_) => {
            // Outside the caller's guarantee: see `action_digest_text`.
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            match serde_json::from_str::<Json>(text) {
                Ok(value) => action_digest(&value),
                Err(_) => {
                    let mut hasher = Sha256::new();
                    hasher.update(b"<not JSON>");
                    hasher.update(text.as_bytes());
                    let mut out = String::with_capacity(DIGEST_LEN);
                    push_hex_digest(&hasher.finalize(), &mut out);
                    out
                }
            }
        }
    }
}

// ------------------------------------------------------------- reading ----

/// Prefix of serde_json's private keys (`$serde_json::private::Number`,
/// `...::RawValue`): as an object's first key, serde_json reads the object
/// as something else.
const PRIVATE_KEY_PREFIX: &[u8] = b"$serde_json::private::";

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    // JSON whitespace, exactly serde_json's set.
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
        i += 1;
    }
    i
}

/// An offset as stored in a [`Member`]; `None` (the slow path) beyond
/// `u32::MAX`, far above the reader's size limit.
fn span(i: usize) -> Option<u32> {
    u32::try_from(i).ok()
}

/// The content of a string: in the text, or unescaped.
fn content<'a>(text: &'a [u8], unescaped: &'a [u8], s: Str) -> Option<&'a [u8]> {
    let range = s.start..s.end;
    if s.unescaped {
        unescaped.get(range)
    } else {
        text.get(range)
    }
}

/// Reads the text and writes its canonical form (the buffers of `s`,
/// cleared by the caller).
struct Reader<'t, 's> {
    text: &'t str,
    bytes: &'t [u8],
    s: &'s mut DigestScratch,
    /// Text whose canonical form is itself, read but not yet copied to
    /// the output: tokens written as they are (brackets, commas, colons,
    /// strings without escapes, numbers in canonical spelling, literals)
    /// that follow each other without whitespace extend it, so compact
    /// text is copied in a few long runs rather than token by token.
    run: std::ops::Range<usize>,
}

impl Reader<'_, '_> {
    /// Output: the text `start..end`, whose canonical form is itself.
    fn copy(&mut self, start: usize, end: usize) -> Option<()> {
        if self.run.end != start {
            self.flush()?;
            self.run.start = start;
        }
        self.run.end = end;
        Some(())
    }

    /// Copies the pending run to the output.
    fn flush(&mut self) -> Option<()> {
        if !self.run.is_empty() {
            let run = self.bytes.get(self.run.clone())?;
            self.s.canonical.extend_from_slice(run);
            self.run.start = self.run.end;
        }
        Some(())
    }

    /// Output: bytes that are not the text's (after what is pending).
    fn write(&mut self, bytes: &[u8]) -> Option<()> {
        self.flush()?;
        self.s.canonical.extend_from_slice(bytes);
        Some(())
    }

    /// The length of the output, pending run included.
    fn written(&self) -> usize {
        self.s.canonical.len() + self.run.len()
    }

    /// The whole text; `None` for anything this reader does not handle
    /// (the caller then takes the slow path).
    fn document(&mut self) -> Option<()> {
        let bytes = self.bytes;
        let mut i = skip_ws(bytes, 0);
        'value: loop {
            // A value starts at `i` (whitespace skipped).
            let b = *bytes.get(i)?;
            match b {
                b'{' | b'[' => {
                    // Nesting counted as the reader counts it: the root
                    // container is level 1.
                    if self.s.frames.len() >= MAX_INPUT_DEPTH {
                        return None;
                    }
                    let object = b == b'{';
                    self.copy(i, i + 1)?;
                    self.s.frames.push(Frame {
                        object,
                        members: self.s.members.len(),
                        body: self.written(),
                        sorted: true,
                    });
                    i = skip_ws(bytes, i + 1);
                    let close = if object { b'}' } else { b']' };
                    if bytes.get(i) != Some(&close) {
                        if object {
                            i = self.key(i)?;
                        }
                        continue 'value;
                    }
                    // Empty: the closer is handled below.
                }
                b'"' => {
                    let (after, s) = self.string(i)?;
                    self.write_str(s)?;
                    i = after;
                }
                b'-' | b'0'..=b'9' => i = self.number(i)?,
                b't' => i = self.literal(i, b"true")?,
                b'f' => i = self.literal(i, b"false")?,
                b'n' => i = self.literal(i, b"null")?,
                _ => return None,
            }
            // After a value (or at the closer of an empty container).
            loop {
                i = skip_ws(bytes, i);
                let Some(&frame) = self.s.frames.last() else {
                    // The root is complete: only whitespace may follow.
                    if i != bytes.len() {
                        return None;
                    }
                    return self.flush();
                };
                match (bytes.get(i)?, frame.object) {
                    (b',', true) => {
                        self.copy(i, i + 1)?;
                        i = self.key(skip_ws(bytes, i + 1))?;
                        continue 'value;
                    }
                    (b',', false) => {
                        self.copy(i, i + 1)?;
                        i = skip_ws(bytes, i + 1);
                        continue 'value;
                    }
                    (b'}', true) => {
                        self.order_members(frame)?;
                        self.copy(i, i + 1)?;
                    }
                    (b']', false) => self.copy(i, i + 1)?,
                    _ => return None,
                }
                self.s.frames.pop();
                i += 1;
            }
        }
    }

    /// An object key at `i`, its colon and the whitespace up to the value:
    /// records the member and writes `"key":`; returns where the value
    /// starts.
    fn key(&mut self, i: usize) -> Option<usize> {
        if self.bytes.get(i) != Some(&b'"') {
            return None;
        }
        let (after, key) = self.string(i)?;
        let s = &mut *self.s;
        let frame = s.frames.last_mut()?;
        let name = content(self.bytes, s.unescaped.as_bytes(), key)?;
        let prefix = utf16_prefix(name);
        if s.members.len() == frame.members {
            if name.starts_with(PRIVATE_KEY_PREFIX) {
                return None;
            }
        } else if frame.sorted {
            // The member before is this object's (deeper objects' members
            // are gone once they close).
            let previous = s.members.last()?;
            // Only equal prefixes need the whole keys (`Equal` if the key
            // before cannot be found: the slow path then decides).
            let whole = || {
                content(self.bytes, s.unescaped.as_bytes(), previous.key)
                    .map_or(Ordering::Equal, |before| cmp_utf16(before, name))
            };
            match previous.prefix.cmp(&prefix).then_with(whole) {
                Ordering::Less => {}
                Ordering::Greater => frame.sorted = false,
                Ordering::Equal => return None, // a key given twice
            }
        }
        let at = span(s.canonical.len() + self.run.len())?;
        s.members.push(Member {
            prefix,
            key,
            at,
            end: 0,
        });
        self.write_str(key)?;
        let i = skip_ws(self.bytes, after);
        if self.bytes.get(i) != Some(&b':') {
            return None;
        }
        self.copy(i, i + 1)?;
        Some(skip_ws(self.bytes, i + 1))
    }

    /// At the closer of an object: puts its members in UTF-16 code unit
    /// order of their keys (RFC 8785, 3.2.3), as [`super::digest`] sorts
    /// them, unless they came in order; drops their records.
    fn order_members(&mut self, frame: Frame) -> Option<()> {
        if !frame.sorted {
            self.flush()?;
            self.reorder(frame)?;
        }
        self.s.members.truncate(frame.members);
        Some(())
    }

    /// Rewrites an object's content (all in the output: flushed) with its
    /// members sorted.
    fn reorder(&mut self, frame: Frame) -> Option<()> {
        let s = &mut *self.s;
        let run = s.members.get_mut(frame.members..)?;
        // Each member ends at the comma before the next one, the last at
        // the closer.
        let mut end = span(s.canonical.len())?;
        for m in run.iter_mut().rev() {
            m.end = end;
            end = m.at.saturating_sub(1);
        }
        let (text, unescaped) = (self.bytes, s.unescaped.as_bytes());
        let key = |m: &Member| content(text, unescaped, m.key).unwrap_or_default();
        // Keys are distinct (checked below), so an unstable sort is exact.
        run.sort_unstable_by(|a, b| {
            a.prefix
                .cmp(&b.prefix)
                .then_with(|| cmp_utf16(key(a), key(b)))
        });
        if run
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.prefix == b.prefix && key(a) == key(b)))
        {
            return None; // a key given twice
        }
        // The same members and commas in another order: the content keeps
        // its length, so offsets recorded further out stay right.
        s.body.clear();
        s.body.extend_from_slice(s.canonical.get(frame.body..)?);
        s.canonical.truncate(frame.body);
        for (n, m) in run.iter().enumerate() {
            if n > 0 {
                s.canonical.push(b',');
            }
            let from = (m.at as usize).checked_sub(frame.body)?;
            let to = (m.end as usize).checked_sub(frame.body)?;
            s.canonical.extend_from_slice(s.body.get(from..to)?);
        }
        Some(())
    }

    /// A string at `i` (its opening quote): unescaped into
    /// [`DigestScratch::unescaped`] when it has escapes. Returns the index
    /// after the closing quote and where the content is.
    // Inlined: returned through memory, the result is read back in one
    // load wider than the stores that wrote it, which stalls.
    #[inline(always)]
    fn string(&mut self, i: usize) -> Option<(usize, Str)> {
        let bytes = self.bytes;
        let start = i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            j = skip_plain(bytes, j);
            match *bytes.get(j)? {
                b'"' => break,
                // The escaped byte is skipped so that `\"` does not end the
                // string; serde_json validates the escape below.
                b'\\' => {
                    escaped = true;
                    j += 2;
                }
                // serde_json refuses raw control characters in strings.
                0..=0x1f => return None,
                _ => j += 1,
            }
        }
        if !escaped {
            let s = Str {
                start,
                end: j,
                unescaped: false,
            };
            return Some((j + 1, s));
        }
        let from = self.s.unescaped.len();
        unescape(self.text.get(start..j)?, &mut self.s.unescaped)?;
        let s = Str {
            start: from,
            end: self.s.unescaped.len(),
            unescaped: true,
        };
        Some((j + 1, s))
    }

    /// Writes a string in canonical form.
    fn write_str(&mut self, s: Str) -> Option<()> {
        let (start, end) = (s.start, s.end);
        if s.unescaped {
            self.flush()?;
            let escaped = &mut self.s.escaped;
            escaped.clear();
            write_string(self.s.unescaped.get(start..end)?, escaped);
            self.s.canonical.extend_from_slice(escaped.as_bytes());
        } else {
            // Content without escapes holds no `"`, no `\` and no control
            // character (`string` checked), so `write_string` would write it
            // unchanged between quotes: copy it, quotes included.
            self.copy(start.checked_sub(1)?, end + 1)?;
        }
        Some(())
    }

    /// A number at `i`, by the JSON grammar (serde_json's):
    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, written in
    /// canonical form; returns the index after it.
    fn number(&mut self, i: usize) -> Option<usize> {
        let bytes = self.bytes;
        let digits = |mut j: usize| {
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            j
        };
        let mut j = i;
        if bytes.get(j) == Some(&b'-') {
            j += 1;
        }
        match bytes.get(j)? {
            b'0' => j += 1,
            b'1'..=b'9' => j = digits(j + 1),
            _ => return None,
        }
        if bytes.get(j) == Some(&b'.') {
            if !bytes.get(j + 1)?.is_ascii_digit() {
                return None;
            }
            j = digits(j + 1);
        }
        if let Some(b'e' | b'E') = bytes.get(j) {
            j += 1;
            if let Some(b'+' | b'-') = bytes.get(j) {
                j += 1;
            }
            if !bytes.get(j)?.is_ascii_digit() {
                return None;
            }
            j = digits(j);
        }
        if is_canonical_literal(bytes.get(i..j)?) {
            self.copy(i, j)?;
        } else {
            serde_spelling(self.text.get(i..j)?, &mut self.s.number);
            self.write(canonical_number(&self.s.number).as_bytes())?;
        }
        Some(j)
    }

    /// `true`, `false` or `null` at `i`.
    fn literal(&mut self, i: usize, word: &[u8]) -> Option<usize> {
        let end = i + word.len();
        if self.bytes.get(i..end)? != word {
            return None;
        }
        self.copy(i, end)?;
        Some(end)
    }
}

/// Appends what the content of a JSON string (between its quotes) stands
/// for to `out`, as serde_json unescapes it: `\"`, `\\`, `\/`, `\b`, `\f`,
/// `\n`, `\r`, `\t`, and `\uXXXX` (any case), a surrogate pair as one
/// character. `None` for what serde_json refuses in a string: any other
/// escape, a surrogate without its partner (the reader then refuses the
/// document too).
fn unescape(content: &str, out: &mut String) -> Option<()> {
    let mut rest = content;
    while let Some(at) = rest.find('\\') {
        out.push_str(rest.get(..at)?);
        let escape = rest.get(at + 1..)?;
        let (c, len) = match escape.as_bytes().first()? {
            b'"' => ('"', 1),
            b'\\' => ('\\', 1),
            b'/' => ('/', 1),
            b'b' => ('\u{8}', 1),
            b'f' => ('\u{c}', 1),
            b'n' => ('\n', 1),
            b'r' => ('\r', 1),
            b't' => ('\t', 1),
            b'u' => {
                let high = hex4(escape.get(1..5)?)?;
                match high {
                    0xd800..=0xdbff => {
                        let low = escape
                            .get(5..7)
                            .filter(|u| *u == "\\u")
                            .and_then(|_| hex4(escape.get(7..11)?))
                            .filter(|low| (0xdc00..=0xdfff).contains(low))?;
                        let c = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
                        (char::from_u32(c)?, 11)
                    }
                    0xdc00..=0xdfff => return None,
                    _ => (char::from_u32(high)?, 5),
                }
            }
            _ => return None,
        };
        out.push(c);
        rest = escape.get(len..)?;
    }
    out.push_str(rest);
    Some(())
}

/// Four hex digits, any case.
fn hex4(digits: &str) -> Option<u32> {
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// Skips plain string bytes eight at a time: the first index at or after
/// `j` whose byte is `"`, `\\` or a control character, or where fewer than
/// eight bytes are left (the caller goes on byte by byte).
fn skip_plain(bytes: &[u8], mut j: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    while let Some(chunk) = bytes.get(j..j + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // A byte's high bit is set in `found` if it is zero in `w ^ ...`
        // (equal to `"` or `\\`) or below 0x20; bytes above the first hit
        // may be flagged spuriously, the first one never is.
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let found = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | w.wrapping_sub(ONES * 0x20) & !w)
            & HIGH;
        if found != 0 {
            return j + (found.trailing_zeros() / 8) as usize;
        }
        j += 8;
    }
    j
}

// ------------------------------------------------------------ ordering ----

/// Orders two UTF-8 strings as their UTF-16 code units order
/// (`a.encode_utf16().cmp(b.encode_utf16())`), without encoding them:
/// lexicographically by [`utf16_byte`] of each byte, a proper prefix first.
///
/// UTF-8 byte order is code point order. UTF-16 order differs from it in
/// one place only: a character above U+FFFF (surrogates D800..DBFF first)
/// sorts before U+E000..U+FFFF. The first differing byte decides: it is at
/// the same offset of a character in both strings (the bytes before it are
/// equal, and UTF-8 lead bytes fix each character's length). If it is a
/// continuation byte both characters share their lead byte, so lie in the
/// same range and byte order is right. If it is a lead byte, it tells the
/// range: `F0..F4` above U+FFFF, `EE`/`EF` U+E000..U+FFFF (U+E000 is
/// `EE 80 80`), anything less below U+E000; [`utf16_byte`] ranks the ranges
/// [below U+E000] < [above U+FFFF] < [U+E000..U+FFFF].
fn cmp_utf16(a: &[u8], b: &[u8]) -> Ordering {
    match a.iter().zip(b).find(|(x, y)| x != y) {
        Some((x, y)) => utf16_byte(*x).cmp(&utf16_byte(*y)),
        None => a.len().cmp(&b.len()),
    }
}

/// A byte of UTF-8, renumbered so that byte order is UTF-16 order at the
/// first difference (see [`cmp_utf16`]): below `EE` unchanged, the lead
/// bytes above U+FFFF (`F0..`) moved down to `EE..`, those of
/// U+E000..U+FFFF (`EE`, `EF`) to the top, `FE`, `FF`. A bijection.
fn utf16_byte(b: u8) -> u8 {
    match b {
        0xee | 0xef => b + 0x10,
        0xf0.. => b - 2,
        _ => b,
    }
}

/// The first eight bytes of a key, renumbered by [`utf16_byte`], big
/// endian, zero-padded: when two prefixes differ they order the keys as
/// [`cmp_utf16`] does (a padding zero meets either a real zero, which
/// compares equal, or a larger byte of a key that the shorter one is a
/// proper prefix of); when they are equal, [`cmp_utf16`] decides.
fn utf16_prefix(key: &[u8]) -> u64 {
    // Built in a register: a short key copied into a buffer and read back
    // as one word would stall on store forwarding.
    let prefix = match key
        .get(..8)
        .and_then(|first| <[u8; 8]>::try_from(first).ok())
    {
        Some(first) => u64::from_be_bytes(first),
        None => key
            .iter()
            .zip((0..8).rev())
            .fold(0, |w, (&b, place)| w | u64::from(b) << (8 * place)),
    };
    // ASCII (the common case) needs no renumbering.
    if prefix & 0x8080_8080_8080_8080 == 0 {
        return prefix;
    }
    u64::from_be_bytes(prefix.to_be_bytes().map(utf16_byte))
}

/// Whether [`canonical_number`] returns this JSON number literal unchanged,
/// judged from its shape alone, so the common case needs no allocation.
/// Conservative: `false` only costs the call.
///
/// True for: `0`; an integer of at most 15 digits; a decimal of at most 15
/// significant digits without trailing zeros whose first significant
/// digit is within 6 places after the point, and at most 18 decimals.
/// Why these are their own canonical form: such a decimal is exact as a
/// [`crate::values::Decimal`] (within 10^20, at most 18 decimals), and a
/// double holds it in the RFC 8785 sense: at most 15 significant digits
/// survive decimal -> double -> shortest decimal unchanged (DBL_DIG = 15:
/// two such decimals never round to one double), so the shortest digits
/// are its own; ECMAScript writes them without an exponent while the
/// point's place is between -6 and 21 (ECMA-262 6.1.6.1.20), which these
/// shapes respect. `-0` is not its own form (it becomes `0`), nor is an
/// exponent or a trailing zero. Tests check the claim against
/// [`canonical_number`].
fn is_canonical_literal(literal: &[u8]) -> bool {
    let unsigned = literal.strip_prefix(b"-").unwrap_or(literal);
    if unsigned.iter().any(|b| matches!(b, b'e' | b'E')) {
        return false;
    }
    let (int, frac) = match unsigned.iter().position(|&b| b == b'.') {
        Some(p) => (
            unsigned.get(..p).unwrap_or_default(),
            unsigned.get(p + 1..).unwrap_or_default(),
        ),
        None => (unsigned, &[][..]),
    };
    // The reader's grammar: `int` is `0` or has no leading zero; `frac`,
    // when there is a point, is not empty.
    match (int, frac) {
        (b"0", []) => literal.len() == 1,
        (_, []) => int.len() <= 15,
        _ if frac.last() == Some(&b'0') => false,
        (b"0", _) => {
            let zeros = frac.iter().take_while(|&&b| b == b'0').count();
            zeros <= 5 && frac.len() - zeros <= 15 && frac.len() <= 18
        }
        _ => int.len() + frac.len() <= 15,
    }
}

/// The literal as serde_json (with `arbitrary_precision`) keeps it in
/// `Number::as_str`: verbatim, except that the exponent marker is written
/// `e` and always has a sign (`1E3` is kept as `1e+3`). Integers that fit
/// 64 bits are kept as the integer's own text, which for a JSON integer
/// literal is the literal.
fn serde_spelling(literal: &str, out: &mut String) {
    out.clear();
    match literal.find(['e', 'E']) {
        None => out.push_str(literal),
        Some(at) => {
            let (mantissa, exponent) = literal.split_at(at);
            let exponent = exponent.get(1..).unwrap_or_default();
            out.push_str(mantissa);
            out.push('e');
            if !exponent.starts_with(['+', '-']) {
                out.push('+');
            }
            out.push_str(exponent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::digest::canonical_json;
    use crate::input::{Syntax, parse};

    fn fast(text: &str) -> Option<String> {
        canonical_text(text, &mut DigestScratch::new()).map(str::to_owned)
    }

    /// The fast path handles `text` itself and agrees with the tree path.
    fn agrees(text: &str) {
        let value = parse(text, Syntax::Json).expect("valid input");
        let mut scratch = DigestScratch::new();
        assert_eq!(
            canonical_text(text, &mut scratch),
            Some(canonical_json(&value).as_str()),
            "{text}"
        );
        assert_eq!(
            action_digest_text(text, &mut scratch),
            action_digest(&value),
            "{text}"
        );
    }

    /// The fast path leaves `text` to the slow path, and the digest is
    /// still the tree path's.
    fn falls_back(text: &str) {
        assert_eq!(fast(text), None, "{text}");
        if let Ok(value) = parse(text, Syntax::Json) {
            assert_eq!(
                action_digest_text(text, &mut DigestScratch::new()),
                action_digest(&value)
            );
        }
    }

    #[test]
    fn scalars_and_containers() {
        for text in [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "\"\"",
            "\"x\"",
            "[]",
            "{}",
            " [ ] ",
            "[[[]],{}]",
            r#"{"b": [1, 2.50, "x"], "a": {"z": null, "y": [true, false]}}"#,
            "\t{\r\n\"a\" :1 , \"b\":[ 1 ,2 ] }\n",
        ] {
            agrees(text);
        }
        assert_eq!(
            fast(r#"{"b": [1, 2.50], "a": {"z": null, "é": true, "A": false}}"#).as_deref(),
            Some(r#"{"a":{"A":false,"z":null,"é":true},"b":[1,2.5]}"#)
        );
    }

    #[test]
    fn members_are_reordered_at_every_depth() {
        for text in [
            // unsorted in unsorted, sorted in unsorted, unsorted in sorted
            r#"{"b":{"d":1,"c":{"f":[{"h":2,"g":3}],"e":4}},"a":[{"j":5,"i":6}]}"#,
            r#"{"a":{"c":1,"b":2},"b":{"a":1,"b":2}}"#,
            r#"{"z":1,"y":{"b":{"d":[],"c":{}},"a":0},"x":[[{"q":1,"p":2}]]}"#,
            // rewritten tokens (escapes, numbers not in canonical form)
            // between copied ones
            r#"{"b":"x\ty","a\u0041":1E3,"c":[1.50,"\u00e9",-0],"a":{"y":1.0,"x":"\/"}}"#,
            "{ \"b\" : 1 ,\n\"a\":\t[ 2 , { \"d\":3, \"c\" :4 } ] }",
            // keys alike in their first eight bytes
            r#"{"abcdefghij":1,"abcdefghi":2,"abcdefgh":3,"abcdefgh\u0000":4}"#,
        ] {
            agrees(text);
        }
        assert_eq!(
            fast(r#"{"b":{"d":1,"c":[{"f":2,"e":3}]},"a":"x\ty"}"#).as_deref(),
            Some(r#"{"a":"x\ty","b":{"c":[{"e":3,"f":2}],"d":1}}"#)
        );
    }

    #[test]
    fn strings_with_escapes_are_unescaped_then_written_canonically() {
        for text in [
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u0000\u001f\u0020\u007f\u00e9\u2028""#,
            r#""\ud83d\ude00 and \uD83D\uDE00""#,
            r#"{"\u0062": 1, "a": 2, "\n": 3}"#,
            "\"\u{7f}\u{2028}\u{1f600}\"",
        ] {
            agrees(text);
        }
        assert_eq!(fast(r#""\u0041\/""#).as_deref(), Some("\"A/\""));
        assert_eq!(fast(r#""\u001f""#).as_deref(), Some(r#""\u001f""#));
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // U+1F600 (D83D DE00) before U+FB01 in UTF-16, after it in UTF-8.
        let text = "{\"\u{fb01}\": 1, \"\u{1f600}\": 2, \"\u{e000}\": 3, \"\u{d7ff}\": 4}";
        agrees(text);
        assert_eq!(
            fast(text).as_deref(),
            Some("{\"\u{d7ff}\":4,\"\u{1f600}\":2,\"\u{e000}\":3,\"\u{fb01}\":1}")
        );
        // Escaped keys sort by what they stand for.
        agrees(r#"{"\ufb01": 1, "\ud83d\ude00": 2, "a": 3, "\u0041": 4}"#);
    }

    #[test]
    fn utf16_order_of_every_range_boundary() {
        let chars = [
            '\0',
            'A',
            'a',
            '\u{7f}',
            '\u{80}',
            '\u{7ff}',
            '\u{800}',
            '\u{d7ff}',
            '\u{e000}',
            '\u{efff}',
            '\u{f000}',
            '\u{fb01}',
            '\u{ffff}',
            '\u{10000}',
            '\u{1f600}',
            '\u{10ffff}',
        ];
        let mut strings: Vec<String> = vec![String::new()];
        for a in chars {
            strings.push(a.to_string());
            for b in chars {
                strings.push(format!("{a}{b}"));
                strings.push(format!("x{a}{b}"));
            }
        }
        strings.push("\0".repeat(9));
        strings.push("abcdefgh".into());
        strings.push("abcdefgh\0".into());
        strings.push("abcdefg\u{e000}".into());
        strings.push("abcdefg\u{10000}".into());
        strings.push("abcdef\u{e000}".into());
        strings.push("abcdef\u{10000}".into());
        for a in &strings {
            for b in &strings {
                let expected = a.encode_utf16().cmp(b.encode_utf16());
                let (a8, b8) = (a.as_bytes(), b.as_bytes());
                assert_eq!(cmp_utf16(a8, b8), expected, "{a:?} vs {b:?}");
                let (pa, pb) = (utf16_prefix(a8), utf16_prefix(b8));
                assert!(pa == pb || pa.cmp(&pb) == expected, "prefix {a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn numbers_in_every_spelling() {
        for text in [
            "-0",
            "0",
            "1E3",
            "1e3",
            "1e+3",
            "1e-3",
            "1.0e400",
            "0.1e-2",
            "-0.0",
            "1000.00",
            "4.50",
            "1e21",
            "1e20",
            "0.000001",
            "1e-7",
            "-1.5e300",
            "9007199254740993",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "1.0000000000000000000001e3",
            "123456789012345",
            "1234567890123456",
            "0.123456789012345",
            "0.000001234567890123",
            "1e99999999999999999999",
            "7E-0400",
        ] {
            if serde_json_keeps_number_text() {
                agrees(text);
                agrees(&format!("[{text}, {{\"n\": {text}}}]"));
            } else {
                // Without `arbitrary_precision` a `Value` holds an `f64`
                // (or refuses `1.0e400`): the text path alone keeps the
                // literal's value, spelled as `canonical_number` spells it.
                let n = crate::audit::digest::canonical_number(text);
                assert_eq!(fast(text), Some(n.clone()), "{text}");
                assert_eq!(
                    fast(&format!("[{text}, {{\"n\": {text}}}]")),
                    Some(format!("[{n},{{\"n\":{n}}}]")),
                    "{text}"
                );
            }
        }
    }

    // The decoder's own test of the build (one definition of "the mode").
    use crate::eval::decode_json::numbers::serde_json_keeps_number_text;

    #[test]
    fn serde_json_keeps_numbers_in_its_own_spelling() {
        // `Number::as_str` is not always the literal: the exponent marker
        // becomes `e` with a sign. `serde_spelling` mirrors that.
        for (literal, kept) in [
            ("-0", "-0"),
            ("0", "0"),
            ("1E3", "1e+3"),
            ("1e3", "1e+3"),
            ("1E-3", "1e-3"),
            ("1.0e400", "1.0e+400"),
            ("0.1e-2", "0.1e-2"),
            ("2.50", "2.50"),
            ("-12", "-12"),
            ("18446744073709551615", "18446744073709551615"),
            ("18446744073709551616", "18446744073709551616"),
            ("-9223372036854775809", "-9223372036854775809"),
        ] {
            // The engine is built with serde_json's defaults on its own and
            // with `arbitrary_precision` inside the CLI (features unify);
            // CI runs this test in both builds. Only the second keeps text.
            if serde_json_keeps_number_text() {
                let Json::Number(n) = serde_json::from_str::<Json>(literal).expect("a number")
                else {
                    panic!("{literal} is not read as a number");
                };
                assert_eq!(n.to_string(), kept, "{literal}");
            }
            let mut spelled = String::new();
            serde_spelling(literal, &mut spelled);
            assert_eq!(spelled, kept, "{literal}");
        }
    }

    #[test]
    fn literals_taken_as_canonical_are_canonical() {
        let mut checked = 0;
        let mut check = |literal: &str| {
            if is_canonical_literal(literal.as_bytes()) {
                assert_eq!(canonical_number(literal), literal);
                checked += 1;
            }
        };
        for literal in [
            "0",
            "7",
            "-7",
            "999999999999999",
            "-999999999999999",
            "100000000000000",
            "0.5",
            "-0.5",
            "0.000001",
            "0.000009999999999",
            "0.00000123456789012",
            "0.1",
            "0.3",
            "99999999999999.9",
            "1.00000000000001",
            "333333333.333333",
            "123456789012.345",
        ] {
            check(literal);
        }
        // Every shape near the limits, with many digit patterns.
        let patterns = [
            "1",
            "9",
            "5",
            "123456789012345",
            "999999999999999",
            "100000000000001",
        ];
        for p in patterns {
            for len in 1..=16 {
                let digits: String = p.chars().cycle().take(len).collect();
                let digits = digits.trim_start_matches('0');
                if digits.is_empty() {
                    continue;
                }
                for point in 0..=digits.len() {
                    let (int, frac) = digits.split_at(point);
                    let int = if int.is_empty() { "0" } else { int };
                    for zeros in 0..8 {
                        let frac = format!("{}{frac}", "0".repeat(zeros));
                        let frac = frac.trim_end_matches('0');
                        for sign in ["", "-"] {
                            if frac.is_empty() {
                                check(&format!("{sign}{int}"));
                            } else {
                                check(&format!("{sign}{int}.{frac}"));
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
        for literal in [
            "-0",
            "1e3",
            "1.0",
            "1.50",
            "0.0000001",
            "1234567890123456",
            "0.1234567890123456",
        ] {
            assert!(!is_canonical_literal(literal.as_bytes()), "{literal}");
        }
    }

    /// Whether the reader's scan would take `content` as a whole string's
    /// content: no unescaped `"` in it, no escape cut off by its end.
    fn scans_as_one_string(content: &str) -> bool {
        let bytes = content.as_bytes();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\\' if i + 1 < bytes.len() => i += 2,
                b'\\' | b'"' => return false,
                _ => i += 1,
            }
        }
        true
    }

    #[test]
    fn strings_unescape_as_serde_json_unescapes_them() {
        let pieces = [
            "a",
            "é",
            "\u{1f600}",
            r"\\",
            r#"\""#,
            r"\/",
            r"\b",
            r"\f",
            r"\n",
            r"\r",
            r"\t",
            r"\u0041",
            r"\u00e9",
            r"\u00E9",
            r"\uFFFF",
            r"\u0000",
            r"\ud83d\ude00",
            r"\uD83D\uDE00",
            r"\ud800",
            r"\udc00",
            r"\ud800\u0041",
            r"\ud800\n",
            r"\ud800x",
            r"\u12",
            r"\u12g4",
            r"\u+123",
            r"\x",
            r"\é",
            r"\a",
            r"\U0041",
            r"\'",
            r"\u{41}",
            r"\",
        ];
        for a in pieces {
            for b in pieces {
                for c in ["", "z", r"\n"] {
                    let content = format!("{a}{b}{c}");
                    if !scans_as_one_string(&content) {
                        continue;
                    }
                    let expected = serde_json::from_str::<String>(&format!("\"{content}\"")).ok();
                    let mut out = String::from("previous ");
                    let got = unescape(&content, &mut out).map(|()| out);
                    assert_eq!(got, expected.map(|s| format!("previous {s}")), "{content}");
                }
            }
        }
    }

    #[test]
    fn skip_plain_stops_at_the_first_special_byte() {
        let specials = [b'"', b'\\', 0, 0x1f, b'\n'];
        let plain = [b'a', b' ', 0x7f, 0x80, 0xc3, 0xa9, 0xff, b'!', b'#', b']'];
        for len in 0..20 {
            for start in 0..=len {
                // `at == len`: no special byte at all.
                for at in start..=len {
                    for special in specials {
                        for fill in plain {
                            let mut bytes = vec![fill; len];
                            // Bytes before the start do not count.
                            if start > 0 {
                                bytes[start - 1] = b'"';
                            }
                            if at < len {
                                bytes[at] = special;
                            }
                            let stop = skip_plain(&bytes, start);
                            // Exactly the special byte, or a short tail
                            // without one before it.
                            assert!(
                                stop == at || (stop < at && len - stop < 8),
                                "{bytes:?} from {start}: {stop}, not {at}"
                            );
                        }
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn keys_compare_as_their_utf16_code_units(
            a in proptest::collection::vec(proptest::sample::select(&[
                '\0', 'a', 'b', '\u{7f}', '\u{80}', 'é', '\u{d7ff}', '\u{e000}', '\u{fb01}',
                '\u{ffff}', '\u{10000}', '\u{1f600}', '\u{10ffff}',
            ][..]), 0..12),
            b in proptest::collection::vec(proptest::sample::select(&[
                '\0', 'a', 'b', '\u{7f}', 'é', '\u{e000}', '\u{fb01}', '\u{1f600}',
            ][..]), 0..12),
            shared in 0usize..12,
        ) {
            let a: String = a.into_iter().collect();
            // Often a long common prefix, so the difference is past eight bytes.
            let b: String = a.chars().take(shared).chain(b).collect();
            let expected = a.encode_utf16().cmp(b.encode_utf16());
            proptest::prop_assert_eq!(cmp_utf16(a.as_bytes(), b.as_bytes()), expected);
            let (pa, pb) = (utf16_prefix(a.as_bytes()), utf16_prefix(b.as_bytes()));
            proptest::prop_assert!(pa == pb || pa.cmp(&pb) == expected);
        }
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped_as_the_reader_does() {
        agrees("\u{feff}{\"a\": 1}");
    }

    #[test]
    fn depth_up_to_the_limit_is_read_beyond_it_left_to_the_slow_path() {
        let ok = format!(
            "{}1{}",
            "[".repeat(MAX_INPUT_DEPTH),
            "]".repeat(MAX_INPUT_DEPTH)
        );
        agrees(&ok);
        let deep = format!(
            "{}1{}",
            "[".repeat(MAX_INPUT_DEPTH + 1),
            "]".repeat(MAX_INPUT_DEPTH + 1)
        );
        falls_back(&deep);
        // Beyond what serde_json reads: never panics, never a document's digest.
        let deeper = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(fast(&deeper), None);
        let d = action_digest_text(&deeper, &mut DigestScratch::new());
        assert!(d.starts_with("sha256:") && d.len() == DIGEST_LEN);
    }

    #[test]
    fn what_the_reader_refuses_or_reads_otherwise_is_left_to_the_slow_path() {
        for text in [
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "[,1]",
            "{\"a\":1,}",
            "{,}",
            "{\"a\" 1}",
            "{\"a\":}",
            "{1:2}",
            "[1 2]",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "NaN",
            "Infinity",
            "tru",
            "nul",
            "truex",
            "[1]x",
            "\"a",
            "\"\\\"",
            "\"\u{1}\"",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\\udc00\\ud800\"",
            "{\"a\": 1, \"a\": 2}",
            "{\"a\": 1, \"\\u0061\": 2}",
            "{\"b\": 1, \"a\": 1, \"b\": 2}",
            "[{\"c\": {\"x\": 1, \"y\": 2, \"x\": 3}}]",
            // serde_json reads these as numbers, not objects
            "{\"$serde_json::private::Number\": \"1E3\"}",
            "{\"$serde_json::private::Number\": \"x\"}",
            "[\"a\"\u{a0}]",
            "[1]\u{feff}",
        ] {
            falls_back(text);
        }
        // Not first: an ordinary key.
        agrees("{\"a\": 1, \"$serde_json::private::Number\": \"1E3\"}");
        // Outside the caller's guarantee, the slow path gives serde_json's
        // reading; text that is not JSON a digest no document has.
        assert_eq!(
            action_digest_text("{\"a\": 1, \"a\": 2}", &mut DigestScratch::new()),
            action_digest(&serde_json::json!({"a": 2}))
        );
        let not_json = action_digest_text("{", &mut DigestScratch::new());
        assert!(not_json.starts_with("sha256:") && not_json.len() == DIGEST_LEN);
        assert_ne!(not_json, action_digest_text("[", &mut DigestScratch::new()));
    }

    #[test]
    fn one_scratch_serves_many_documents() {
        let mut scratch = DigestScratch::new();
        let texts = [
            r#"{"b": {"d": [1, {"f": 2, "e": 3}], "c": "\u00e9"}, "a": 1E3}"#,
            "[]",
            r#"{"x": "\n", "w": [{"v": {}}]}"#,
            "{",
            r#"{"b": {"d": [1, {"f": 2, "e": 3}], "c": "\u00e9"}, "a": 1E3}"#,
        ];
        for _ in 0..3 {
            for text in texts {
                let expected = match parse(text, Syntax::Json) {
                    Ok(v) => action_digest(&v),
                    Err(_) => action_digest_text(text, &mut DigestScratch::new()),
                };
                assert_eq!(action_digest_text(text, &mut scratch), expected, "{text}");
            }
        }
        let mut out = String::from("digest=");
        push_action_digest_text("[1]", &mut scratch, &mut out);
        assert_eq!(
            out,
            format!("digest={}", action_digest(&serde_json::json!([1])))
        );
    }
}
