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
pub(crate) struct Str {
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
pub(crate) struct Frame {
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

    /// Drops any buffer grown past [`KEEP_CAPACITY`].
    pub(crate) fn release_if_huge(&mut self) {
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
    Reader::<true>::new(text, scratch)?.document()
}

/// Appends the digest of the canonical form a [`Reader`] in canonical mode
/// wrote into `scratch` (after [`Reader::finish`]), as
/// [`push_action_digest_text`] does, and releases huge buffers.
pub(crate) fn push_canonical_digest(scratch: &mut DigestScratch, out: &mut String) {
    push_hex_digest(&Sha256::digest(&scratch.canonical), out);
    scratch.release_if_huge();
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

pub(crate) fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
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

/// Reads the text and, with `CANON`, writes its canonical form into the
/// buffers of `s`. Without `CANON` (decoding alone) it reads and checks
/// exactly the same (grammar, depth, duplicate keys, serde_json's private
/// first keys) and writes nothing: every output method returns at once.
///
/// The primitives are also driven by the schema-driven reader of
/// `eval/decode_json/wire.rs`, which decodes and digests in one pass.
pub(crate) struct Reader<'t, 's, const CANON: bool> {
    text: &'t str,
    bytes: &'t [u8],
    s: &'s mut DigestScratch,
    /// Text whose canonical form is itself, read but not yet copied to
    /// the output: tokens written as they are (brackets, commas, colons,
    /// strings without escapes, numbers in canonical spelling, literals)
    /// that follow each other without whitespace extend it, so compact
    /// text is copied in a few long runs rather than token by token.
    run: std::ops::Range<usize>,
    /// Refuse (leave to the slow path) a number serde_json without
    /// `arbitrary_precision` may refuse as out of range: set by the
    /// schema-driven reader in such builds, whose text must be a document
    /// the slow path reads (the digest alone has its caller's guarantee).
    pub(crate) finite_only: bool,
}

impl<'t, 's, const CANON: bool> Reader<'t, 's, CANON> {
    /// A reader of `text` (byte order mark already skipped) with cleared
    /// buffers; `None` for text longer than `u32::MAX` bytes.
    pub(crate) fn new(text: &'t str, scratch: &'s mut DigestScratch) -> Option<Self> {
        span(text.len())?;
        scratch.frames.clear();
        scratch.members.clear();
        scratch.unescaped.clear();
        scratch.canonical.clear();
        Some(Reader {
            text,
            bytes: text.as_bytes(),
            s: scratch,
            run: 0..0,
            finite_only: false,
        })
    }

    /// The text being read.
    pub(crate) fn bytes(&self) -> &'t [u8] {
        self.bytes
    }

    /// The text `i..j`.
    pub(crate) fn slice(&self, i: usize, j: usize) -> Option<&'t str> {
        self.text.get(i..j)
    }

    /// A string's content when it is a slice of the text (it had no
    /// escapes): borrowable for as long as the text.
    pub(crate) fn in_text(&self, s: Str) -> Option<&'t str> {
        if s.unescaped {
            None
        } else {
            self.text.get(s.start..s.end)
        }
    }

    /// A string's content, in the text or unescaped.
    pub(crate) fn content(&self, s: Str) -> Option<&str> {
        if s.unescaped {
            self.s.unescaped.get(s.start..s.end)
        } else {
            self.text.get(s.start..s.end)
        }
    }

    /// Opens an object or array at `i` (its bracket): refuses nesting
    /// deeper than [`MAX_INPUT_DEPTH`] (the root container is level 1, as
    /// the reader counts), writes the bracket. Returns where its first
    /// member or element starts (whitespace skipped), and whether it is
    /// empty (its closer is there).
    pub(crate) fn open(&mut self, i: usize, object: bool) -> Option<(usize, bool)> {
        if self.s.frames.len() >= MAX_INPUT_DEPTH {
            return None;
        }
        self.copy(i, i + 1)?;
        self.s.frames.push(Frame {
            object,
            members: self.s.members.len(),
            body: self.written(),
            sorted: true,
        });
        let j = skip_ws(self.bytes, i + 1);
        let close = if object { b'}' } else { b']' };
        Some((j, self.bytes.get(j) == Some(&close)))
    }

    /// After a member or element of the innermost container (whitespace
    /// not yet skipped): at a comma, writes it and returns `Some(next)`
    /// where the next member or element starts; at the container's closer,
    /// closes it (an object's members put in order, duplicate keys
    /// refused) and returns `None` in the first place, the index after the
    /// closer in the second. Anything else refuses (outer `None`).
    pub(crate) fn next_or_close(&mut self, i: usize) -> Option<Result<usize, usize>> {
        let i = skip_ws(self.bytes, i);
        let frame = *self.s.frames.last()?;
        match (self.bytes.get(i)?, frame.object) {
            (b',', _) => {
                self.copy(i, i + 1)?;
                Some(Ok(skip_ws(self.bytes, i + 1)))
            }
            (b'}', true) | (b']', false) => self.close(i, frame).map(Err),
            _ => None,
        }
    }

    /// Closes the innermost container at `i`, its closer (an empty one
    /// right after [`Reader::open`]); returns the index after it.
    pub(crate) fn close(&mut self, i: usize, frame: Frame) -> Option<usize> {
        if frame.object {
            self.order_members(frame)?;
        }
        self.copy(i, i + 1)?;
        self.s.frames.pop();
        Some(i + 1)
    }

    /// The innermost open container.
    pub(crate) fn innermost(&self) -> Option<Frame> {
        self.s.frames.last().copied()
    }

    /// After the root value: only whitespace may follow; the output is
    /// complete.
    pub(crate) fn finish(&mut self, i: usize) -> Option<()> {
        if skip_ws(self.bytes, i) != self.bytes.len() || !self.s.frames.is_empty() {
            return None;
        }
        self.flush()
    }

    /// Output: the text `start..end`, whose canonical form is itself.
    pub(crate) fn copy(&mut self, start: usize, end: usize) -> Option<()> {
        if !CANON {
            return Some(());
        }
        if self.run.end != start {
            self.flush()?;
            self.run.start = start;
        }
        self.run.end = end;
        Some(())
    }

    /// Copies the pending run to the output.
    fn flush(&mut self) -> Option<()> {
        if CANON && !self.run.is_empty() {
            let run = self.bytes.get(self.run.clone())?;
            self.s.canonical.extend_from_slice(run);
            self.run.start = self.run.end;
        }
        Some(())
    }

    /// Output: bytes that are not the text's (after what is pending).
    fn write(&mut self, bytes: &[u8]) -> Option<()> {
        if !CANON {
            return Some(());
        }
        self.flush()?;
        self.s.canonical.extend_from_slice(bytes);
        Some(())
    }

    /// The length of the output, pending run included.
    fn written(&self) -> usize {
        if !CANON {
            return 0;
        }
        self.s.canonical.len() + self.run.len()
    }

    /// The whole text; `None` for anything this reader does not handle
    /// (the caller then takes the slow path).
    fn document(&mut self) -> Option<()> {
        let i = self.value(skip_ws(self.bytes, 0))?;
        self.finish(i)
    }

    /// One whole value at `i` (whitespace skipped), read and written;
    /// returns the index after it (before any whitespace).
    pub(crate) fn value(&mut self, mut i: usize) -> Option<usize> {
        let bytes = self.bytes;
        // The containers open around the value: it ends when they are all
        // that is open again.
        let base = self.s.frames.len();
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
                if self.s.frames.len() <= base {
                    return Some(i);
                }
                i = skip_ws(bytes, i);
                let &frame = self.s.frames.last()?;
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
        self.key_str(i).map(|(at, _)| at)
    }

    /// [`Reader::key`], also returning the key.
    pub(crate) fn key_str(&mut self, i: usize) -> Option<(usize, Str)> {
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
        let at = if CANON {
            span(s.canonical.len() + self.run.len())?
        } else {
            0
        };
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
        Some((skip_ws(self.bytes, i + 1), key))
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
        if CANON {
            let mut end = span(s.canonical.len())?;
            for m in run.iter_mut().rev() {
                m.end = end;
                end = m.at.saturating_sub(1);
            }
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
        if !CANON {
            return Some(());
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
    pub(crate) fn string(&mut self, i: usize) -> Option<(usize, Str)> {
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
    pub(crate) fn write_str(&mut self, s: Str) -> Option<()> {
        if !CANON {
            return Some(());
        }
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
    pub(crate) fn number(&mut self, i: usize) -> Option<usize> {
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
        let plain = (CANON || self.finite_only) && is_canonical_literal(bytes.get(i..j)?);
        if self.finite_only && !plain && !far_inside_f64(self.text.get(i..j)?) {
            return None;
        }
        if !CANON {
            return Some(j);
        }
        if plain {
            self.copy(i, j)?;
        } else {
            serde_spelling(self.text.get(i..j)?, &mut self.s.number);
            self.write(canonical_number(&self.s.number).as_bytes())?;
        }
        Some(j)
    }

    /// `true`, `false` or `null` at `i`.
    pub(crate) fn literal(&mut self, i: usize, word: &[u8]) -> Option<usize> {
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

/// Whether the literal's value is far inside an `f64`'s range (below
/// 10^307 in magnitude, or rounding to zero), so that serde_json without
/// `arbitrary_precision` reads it (it refuses a number whose `f64`
/// overflows, by an algorithm of its own that may round the last places
/// differently near the limit: hence the margin).
fn far_inside_f64(literal: &str) -> bool {
    literal
        .parse::<f64>()
        .is_ok_and(|v| v.is_finite() && v.abs() < 1e307)
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
mod tests;
