//! JSON text -> slots, and the action digest, in one pass over the text:
//! the reader of `audit/digest_text` (strict JSON, RFC 8785 canonical form
//! written as it reads) driven by the compiled schema tree ([`Node`]).
//!
//! [`decode_digest`] reads each byte once: declared keys go into their
//! slots (strings borrowed from the text unless they had escapes), the
//! evidence pack into presence flags, undeclared values are read (and
//! written canonically) without being decoded, and on success the
//! canonical form is hashed. [`decode`] is the same reader writing
//! nothing: JSON text -> slots alone.
//!
//! The contract is [`super::decode_json`]'s: `Some` only with exactly the
//! slots and evidence flags the slow path ([`crate::input::parse`], then
//! [`crate::eval::decode::decode`], then `exact_in_value`) returns, `None`
//! whenever the slow path would refuse or this reader is not sure (the
//! caller then runs the slow path, which gives the errors); with the
//! digest, exactly [`crate::audit::digest_text::action_digest_text`]'s.
//! Every refusal is a plain `None`:
//!
//! - text over [`MAX_INPUT_BYTES`] (a leading byte order mark is skipped,
//!   as the slow path skips it);
//! - anything the digest reader leaves to the slow path: text that is not
//!   JSON as serde_json reads it (raw control characters in strings,
//!   invalid escapes, lone surrogates, trailing characters), nesting
//!   deeper than [`crate::limits::MAX_INPUT_DEPTH`] (the root object is level 1), a key
//!   given twice in any object (compared after unescaping), an object
//!   whose first key starts with serde_json's private
//!   `$serde_json::private::` (under `arbitrary_precision` serde_json reads
//!   such an object as a number);
//! - a root that is not an object; a type mismatch, an unknown enum value,
//!   a bad duration or timestamp, a missing (or null) required attribute,
//!   a number [`Decimal::parse`] refuses; an undeclared field (or
//!   evidence field) under `strict`;
//! - without `arbitrary_precision`, a number near or beyond an `f64`'s
//!   range (serde_json then refuses `1e400`, even where it is undeclared).
//!
//! Numbers are read from their digits as written, in every build: a plain
//! integer of at most 18 digits directly (what [`Decimal::parse`] gives
//! for it, as `decode_json`'s `integer`), any other literal through
//! [`Decimal::parse`] (durations: `str::parse::<i64>`, as
//! `Number::as_i64` reads serde_json's kept text). Without
//! `arbitrary_precision` the slow path's `Value` may change a literal;
//! `exact_in_value` then refuses the document there, while this reader,
//! like [`super::decode_json`], decides with the digits written: the text
//! paths decide with the numbers written or not at all.
//!
//! Why not serde_json's deserializer, as [`super::decode_json`] does:
//! serde_json's own parsing was that decoder's floor (reading the text
//! into `IgnoredAny` alone took a third of the time), and the digest needed
//! a second pass over the text. Measured in `cargo bench --bench decode`
//! and docs/performance.md.

use std::borrow::Cow;
use std::cell::RefCell;

use super::{Seen, all_optional, find, same};
use crate::audit::digest_text::{DigestScratch, Reader, Str, push_canonical_digest, skip_ws};
use crate::check::{PolicySet, Type};
use crate::compile::{Child, Node};
use crate::eval::decode::{Decoded, EVIDENCE_KEY, Slot};
use crate::limits::MAX_INPUT_BYTES;
use crate::values::{Decimal, Timestamp, parse_duration};

/// Decodes JSON text into slots, or returns `None` (see the module
/// documentation). Reuses a scratch of this thread's.
pub(crate) fn decode<'a>(
    set: &PolicySet,
    decoder: &Node,
    text: &'a str,
    strict: bool,
) -> Option<Decoded<'a>> {
    thread_local! {
        static SCRATCH: RefCell<DigestScratch> = RefCell::new(DigestScratch::new());
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            let decoded = read::<false>(set, decoder, text, strict, &mut scratch);
            scratch.release_if_huge();
            decoded
        }
        // Never in practice (nothing here calls back in): a fresh scratch.
        Err(_) => read::<false>(set, decoder, text, strict, &mut DigestScratch::new()),
    })
}

/// Decodes JSON text into slots and, on success, appends its action digest
/// (`sha256:<hex>`) to `digest`; `None` (and `digest` unchanged) as for
/// [`decode`].
pub(crate) fn decode_digest<'a>(
    set: &PolicySet,
    decoder: &Node,
    text: &'a str,
    strict: bool,
    scratch: &mut DigestScratch,
    digest: &mut String,
) -> Option<Decoded<'a>> {
    let decoded = read::<true>(set, decoder, text, strict, scratch);
    match decoded {
        Some(_) => push_canonical_digest(scratch, digest),
        None => scratch.release_if_huge(),
    }
    decoded
}

/// The whole document; with `CANON`, its canonical form is left in
/// `scratch`.
fn read<'a, const CANON: bool>(
    set: &PolicySet,
    decoder: &Node,
    text: &'a str,
    strict: bool,
    scratch: &mut DigestScratch,
) -> Option<Decoded<'a>> {
    if text.len() > MAX_INPUT_BYTES {
        return None;
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The checker reserves `evidence`: the root never declares it.
    if decoder.fields.iter().any(|(k, _)| k == EVIDENCE_KEY) {
        return None;
    }
    let mut r = Reader::<CANON>::new(text, scratch)?;
    // The slow path's reader must read the document, whatever the build.
    r.finite_only = !super::numbers::serde_json_keeps_number_text();
    let mut wire = Wire {
        r,
        set,
        strict,
        slots: std::iter::repeat_with(|| Slot::Missing)
            .take(set.attributes.len())
            .collect(),
        evidence: vec![false; set.evidence.len()],
    };
    let i = skip_ws(wire.r.bytes(), 0);
    if wire.r.bytes().get(i) != Some(&b'{') {
        return None;
    }
    let i = wire.object(i, decoder, true)?;
    wire.r.finish(i)?;
    Some(Decoded {
        slots: wire.slots,
        evidence: wire.evidence,
    })
}

/// One decoding run: the reader, and what it fills.
struct Wire<'t, 's, 'p, const CANON: bool> {
    r: Reader<'t, 's, CANON>,
    set: &'p PolicySet,
    strict: bool,
    slots: Vec<Slot<'t>>,
    evidence: Vec<bool>,
}

/// Whether a declared field may be absent.
fn optional(set: &PolicySet, child: &Child) -> bool {
    match child {
        Child::Attribute(slot) => set.attributes.get(*slot).is_none_or(|a| a.optional),
        Child::Object(inner) => all_optional(set, inner),
    }
}

impl<'t, 'p, const CANON: bool> Wire<'t, '_, 'p, CANON> {
    /// A declared object at `i` (its `{`); returns the index after it.
    fn object(&mut self, i: usize, node: &'p Node, root: bool) -> Option<usize> {
        let set = self.set;
        let (mut i, empty) = self.r.open(i, true)?;
        let mut seen = Seen::new(node.fields.len());
        // Where the next key is looked for first: documents tend to list
        // keys in the schema's order.
        let mut next = 0;
        let mut evidence_seen = false;
        if empty {
            let frame = self.r.innermost()?;
            i = self.r.close(i, frame)?;
        } else {
            loop {
                let (value, key) = self.r.key_str(i)?;
                let name = self.r.content(key)?;
                let found = find(&node.fields, name, next);
                let evidence = found.is_none() && root && name == EVIDENCE_KEY;
                let after = if let Some(k) = found {
                    next = k + 1;
                    if !seen.mark(k) {
                        return None; // a key given twice
                    }
                    match node.fields.get(k).map(|(_, c)| c)? {
                        Child::Attribute(slot) => self.attribute(value, *slot)?,
                        Child::Object(inner) => self.inner(value, inner)?,
                    }
                } else if evidence {
                    if std::mem::replace(&mut evidence_seen, true) {
                        return None;
                    }
                    self.evidence(value)?
                } else {
                    if self.strict {
                        return None;
                    }
                    self.r.value(value)?
                };
                match self.r.next_or_close(after)? {
                    Ok(n) => i = n,
                    Err(end) => {
                        i = end;
                        break;
                    }
                }
            }
        }
        let missing = node
            .fields
            .iter()
            .enumerate()
            .any(|(k, (_, child))| !seen.has(k) && !optional(set, child));
        if missing { None } else { Some(i) }
    }

    /// A declared object's value at `i`: an object, or null (absent).
    fn inner(&mut self, i: usize, node: &'p Node) -> Option<usize> {
        match self.r.bytes().get(i)? {
            b'{' => self.object(i, node, false),
            b'n' => {
                let after = self.r.literal(i, b"null")?;
                all_optional(self.set, node).then_some(after)
            }
            _ => None,
        }
    }

    /// An attribute's value at `i`, decoded as its declared type into its
    /// slot (null leaves it missing); returns the index after it.
    fn attribute(&mut self, i: usize, slot: usize) -> Option<usize> {
        let set = self.set;
        let attr = set.attributes.get(slot)?;
        let ty = &attr.ty;
        let (after, value) = match *self.r.bytes().get(i)? {
            b'"' => {
                let (after, s) = self.r.string(i)?;
                self.r.write_str(s)?;
                (after, self.string_slot(ty, s)?)
            }
            b'-' | b'0'..=b'9' => {
                let after = self.r.number(i)?;
                (after, number_slot(ty, self.r.slice(i, after)?)?)
            }
            b't' => (self.r.literal(i, b"true")?, bool_slot(ty, true)?),
            b'f' => (self.r.literal(i, b"false")?, bool_slot(ty, false)?),
            b'n' => {
                let after = self.r.literal(i, b"null")?;
                return attr.optional.then_some(after);
            }
            b'[' => match ty {
                Type::Set(element) => self.set_items(i, element)?,
                _ => return None,
            },
            _ => return None,
        };
        *self.slots.get_mut(slot)? = value;
        Some(after)
    }

    /// A string as the declared type.
    fn string_slot(&self, ty: &Type, s: Str) -> Option<Slot<'t>> {
        let text = self.r.content(s)?;
        match ty {
            Type::String => Some(Slot::Str(match self.r.in_text(s) {
                Some(borrowed) => Cow::Borrowed(borrowed),
                None => Cow::Owned(text.to_owned()),
            })),
            Type::Duration => parse_duration(text).map(Slot::Duration),
            Type::Timestamp => Timestamp::parse(text).map(Slot::Timestamp),
            Type::Enum(values) => values
                .iter()
                .position(|x| same(x, text))
                .map(|k| Slot::Enum(k as u32)),
            Type::Bool | Type::Number | Type::Set(_) => None,
        }
    }

    /// An array at `i` for a set attribute: strings only, enum values
    /// known. Returns the index after it and the slot.
    fn set_items(&mut self, i: usize, element: &Type) -> Option<(usize, Slot<'t>)> {
        let (mut i, empty) = self.r.open(i, false)?;
        let values = match element {
            Type::Enum(values) => Some(values),
            _ => None,
        };
        let mut strings = Vec::new();
        let mut enums = Vec::new();
        if empty {
            let frame = self.r.innermost()?;
            i = self.r.close(i, frame)?;
        } else {
            loop {
                if self.r.bytes().get(i) != Some(&b'"') {
                    return None;
                }
                let (after, s) = self.r.string(i)?;
                self.r.write_str(s)?;
                match values {
                    Some(values) => {
                        let text = self.r.content(s)?;
                        enums.push(values.iter().position(|x| same(x, text))? as u32);
                    }
                    None => strings.push(match self.r.in_text(s) {
                        Some(borrowed) => Cow::Borrowed(borrowed),
                        None => Cow::Owned(self.r.content(s)?.to_owned()),
                    }),
                }
                match self.r.next_or_close(after)? {
                    Ok(n) => i = n,
                    Err(end) => {
                        i = end;
                        break;
                    }
                }
            }
        }
        let slot = if values.is_some() {
            Slot::Enums(enums)
        } else {
            Slot::Strings(strings)
        };
        Some((i, slot))
    }

    /// The evidence pack at `i`: null, or an object of fields whose
    /// presence is recorded.
    fn evidence(&mut self, i: usize) -> Option<usize> {
        let set = self.set;
        let defs = &set.evidence;
        match self.r.bytes().get(i)? {
            b'n' => return self.r.literal(i, b"null"),
            b'{' => {}
            _ => return None,
        }
        let (mut i, empty) = self.r.open(i, true)?;
        let mut seen = Seen::new(defs.len());
        if empty {
            let frame = self.r.innermost()?;
            return self.r.close(i, frame);
        }
        loop {
            let (value, key) = self.r.key_str(i)?;
            let name = self.r.content(key)?;
            let after = match defs.iter().position(|e| same(&e.name, name)) {
                Some(first) => {
                    if !seen.mark(first) {
                        return None;
                    }
                    let (after, present) = self.present(value)?;
                    // The key's content stays where it is while the
                    // document is read (the buffers only grow).
                    let name = self.r.content(key)?;
                    for (def, flag) in defs.iter().zip(self.evidence.iter_mut()) {
                        if same(&def.name, name) {
                            *flag = present;
                        }
                    }
                    after
                }
                None => {
                    if self.strict {
                        return None;
                    }
                    self.r.value(value)?
                }
            };
            match self.r.next_or_close(after)? {
                Ok(n) => i = n,
                Err(end) => return Some(end),
            }
        }
    }

    /// An evidence field's value at `i`, read; whether it counts as present
    /// (`decode::is_present`: not null, not `false`, not empty, not blank
    /// text).
    fn present(&mut self, i: usize) -> Option<(usize, bool)> {
        let bytes = self.r.bytes();
        match *bytes.get(i)? {
            b'"' => {
                let (after, s) = self.r.string(i)?;
                self.r.write_str(s)?;
                let blank = crate::identity::is_blank(self.r.content(s)?);
                Some((after, !blank))
            }
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                let empty = bytes.get(skip_ws(bytes, i + 1)) == Some(&close);
                Some((self.r.value(i)?, !empty))
            }
            b'f' | b'n' => Some((self.r.value(i)?, false)),
            // `true` and numbers; `value` refuses anything else.
            _ => Some((self.r.value(i)?, true)),
        }
    }
}

/// A bool as the declared type.
fn bool_slot<'t>(ty: &Type, b: bool) -> Option<Slot<'t>> {
    matches!(ty, Type::Bool).then_some(Slot::Bool(b))
}

/// A number literal (JSON grammar, checked by the reader) as the declared
/// type.
fn number_slot<'t>(ty: &Type, literal: &str) -> Option<Slot<'t>> {
    match ty {
        Type::Number => exact_number(literal).map(Slot::Number),
        // `Number::as_i64` of the kept text, then `secs >= 0`.
        Type::Duration => literal
            .parse::<i64>()
            .ok()
            .filter(|secs| *secs >= 0)
            .map(Slot::Duration),
        _ => None,
    }
}

/// The literal's value as [`Decimal::parse`] reads it; a plain integer of
/// at most 18 digits directly (|n| < 10^18, far inside the decimal's
/// range: exact, as `Decimal::parse` gives it; the unit test
/// `plain_integers_read_as_decimal_parse_reads_them` holds it to that).
fn exact_number(literal: &str) -> Option<Decimal> {
    let digits = literal.strip_prefix('-').unwrap_or(literal);
    if !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let mut n: i128 = 0;
        for b in digits.bytes() {
            n = n * 10 + i128::from(b - b'0');
        }
        if digits.len() < literal.len() {
            n = -n;
        }
        return Some(Decimal::from_units(n * Decimal::ONE_UNITS));
    }
    Decimal::parse(literal).ok()
}

#[cfg(test)]
mod tests;
