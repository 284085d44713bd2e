//! JSON text -> slots in one pass, without building a `serde_json::Value`,
//! through serde_json's deserializer: the fast path for
//! [`crate::Policy::evaluate_json`] until the hand-written one-pass reader
//! ([`wire`], which also writes the action digest's canonical form while
//! it reads) took its place. Kept as the second fast path the reader is
//! tested against (`tests.rs` runs every document through both) and as a
//! row of `cargo bench --bench decode`, where it is ~10% faster than the
//! reader without the digest; it is not the production path because it
//! skips undeclared numbers unread, so without `arbitrary_precision` it
//! accepts a document whose undeclared `1e308` the slow path refuses.

//! serde_json's deserializer is driven by the compiled schema tree
//! ([`Node`]): declared keys go straight into their slots (strings borrowed
//! from the text unless they had escapes to undo), the evidence pack into
//! presence flags, and undeclared values are walked without being built.
//!
//! The contract is equivalence with the slow path
//! ([`crate::input::parse`] with [`crate::input::Syntax::Json`], then
//! [`super::decode::decode`]): [`decode_json`] returns `Some` only with the
//! slots and evidence flags the slow path would return, and `None` whenever
//! the slow path would fail or this decoder is not sure; the caller then
//! runs the slow path, which reports every error with its path (without
//! `arbitrary_precision`, "would return" is for the numbers as written:
//! where the slow path's `Value` changes one, it refuses; see Numbers
//! below). So every
//! refusal here is a plain `None`, with no message:
//!
//! - text over [`MAX_INPUT_BYTES`]; a leading byte order mark is skipped,
//!   as the slow path does;
//! - anything serde_json refuses (malformed text, `NaN`, trailing
//!   characters, invalid escapes or lone surrogates, also inside ignored
//!   values: every string is fully unescaped);
//! - a key given twice in one object, at any depth, compared after
//!   unescaping: declared keys by a seen flag per schema field, other keys
//!   by the list of the undeclared keys of each open object (an object with
//!   more than [`MAX_UNKNOWN_KEYS`] undeclared keys is left to the slow
//!   path, which keeps the cost linear);
//! - nesting deeper than [`MAX_INPUT_DEPTH`] objects and arrays, counted as
//!   `input/json.rs` counts it (the root object is level 1);
//! - a type mismatch, an unknown enum value, a bad duration or timestamp, a
//!   missing required attribute, a number [`Decimal::parse`] refuses;
//! - an undeclared field under `strict`;
//! - any object key equal to serde_json's private number token (see below).
//!
//! Numbers: the slow path reads each number through a `serde_json::Value`
//! and [`super::decode::decode`] reads its `Display` text with
//! [`Decimal::parse`] (`Number::as_i64` for durations). This decoder reads
//! the digits as written, in every build:
//!
//! - serde_json hands an integer that fits `u64` (or, negative, `i64`,
//!   except `-0`) to `visit_u64`/`visit_i64`; it becomes a [`Decimal`]
//!   directly (exactly what [`Decimal::parse`] gives for its text: no
//!   fraction, far below its range limit).
//! - Without serde_json's `arbitrary_precision` (a user's build: the engine
//!   never turns it on), every other number comes to `visit_f64`, its
//!   digits lost; `numbers.rs` finds the same number's literal in the text
//!   (numbers are handed over in document order and counted), and the
//!   literal goes through [`Decimal::parse`] or `str::parse::<i64>`. The
//!   slow path's `Value` holds an `f64` then: `Policy::evaluate_json`
//!   refuses a document the slow path would decide with a number its
//!   `Value` changed (`numbers::literal_lost_by_value`), so both paths
//!   decide with the digits written or not at all.
//! - With `arbitrary_precision` (the CLI turns it on for itself), every
//!   other number comes to `visit_map` as a one-entry map whose key is the
//!   private token and whose value is the number's text as an owned
//!   `String` (serde_json's spelling: `1E3` becomes `1e+3`, same value);
//!   it goes through the same functions. A JSON object written with the
//!   token as its key is then read by the slow path as a number too; this
//!   decoder tells the two apart by how the value arrives (a real number's
//!   text comes as `visit_string`, a string in the document never does)
//!   and leaves any such object to the slow path. Without the feature the
//!   token is an ordinary key, and such objects are still left to the slow
//!   path (refusing is always safe). Should serde_json change how it hands
//!   numbers over, numbers would only fall back to the slow path;
//!   `the_number_token_is_serde_jsons` and the number tests in `tests.rs`
//!   would say so.
//!
//! serde_json's `raw_value` feature would give a number's text without the
//! stand-in map or the scan, but it is not enabled, and it is not purely
//! additive: with it, every `Value` of the build (the engine's slow path,
//! and a user's own code: features unify) reads any object keyed by
//! `$serde_json::private::RawValue` as the JSON text in its string value,
//! a second document the structural check (duplicates, depth) never sees.
//!
//! Why hand-written: this is measured speed work, kept where a crate would
//! otherwise do. The crate way is serde_json's own `Value` tree, then
//! [`super::decode::decode`]; `cargo bench --bench decode` times both over
//! the 1 000 generated actions of benches/common: `decode_json` 1.50 ms,
//! `value+decode` 8.92 ms, `parse+decode` (the checked reader) 15.5 ms,
//! against a floor of 0.75 ms for serde_json reading the text into
//! `IgnoredAny` (2026-12-05, `--sample-size 10`, 2 shared cores). Any
//! change here is held to the slow path by `tests.rs`, and should keep its
//! lead in that bench.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::decode::{Decoded, EVIDENCE_KEY, Slot};
use crate::check::{PolicySet, Type};
use crate::compile::{Child, Node};
use crate::limits::{MAX_INPUT_BYTES, MAX_INPUT_DEPTH};
use crate::values::{Decimal, Timestamp, parse_duration};

pub(crate) mod numbers;
#[cfg(test)]
mod tests;
pub(crate) mod wire;

use numbers::Numbers;
pub(crate) use numbers::literal_lost_by_value;

/// The key under which serde_json (with `arbitrary_precision`) hands a
/// number to a `deserialize_any` visitor. Private to serde_json: a test
/// here pins it.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Most undeclared keys of one object this decoder compares for
/// duplicates; past it the slow path (a hash set) decides.
pub(crate) const MAX_UNKNOWN_KEYS: usize = 64;

/// Decodes JSON text as the slow path would, or returns `None`.
///
/// `Some(decoded)` only when [`crate::input::parse`] (as JSON) followed by
/// [`super::decode::decode`] would return `Ok` with exactly these slots and
/// evidence flags; `None` whenever it would return an error, or whenever
/// this decoder is not sure (then the caller runs the slow path, which
/// produces the exact error list).
pub(crate) fn decode_json<'a>(
    set: &PolicySet,
    decoder: &Node,
    text: &'a str,
    strict: bool,
) -> Option<Decoded<'a>> {
    if text.len() > MAX_INPUT_BYTES {
        return None;
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The checker reserves `evidence`: the root never declares it.
    if decoder.fields.iter().any(|(k, _)| k == EVIDENCE_KEY) {
        return None;
    }
    let mut ctx = Ctx {
        set,
        strict,
        slots: std::iter::repeat_with(|| Slot::Missing)
            .take(set.attributes.len())
            .collect(),
        evidence: vec![false; set.evidence.len()],
        keys: Vec::new(),
        numbers: Numbers::new(text),
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let root = ObjectSeed {
        ctx: &mut ctx,
        node: decoder,
        depth: 1,
        root: true,
    };
    (&mut de).deserialize_map(root).ok()?;
    de.end().ok()?;
    Some(Decoded {
        slots: ctx.slots,
        evidence: ctx.evidence,
    })
}

/// The one error of this module: the message is never shown (the caller
/// runs the slow path for the real one).
fn refuse<E: de::Error>() -> E {
    E::custom("not decoded by the fast path")
}

/// What one decoding run accumulates.
struct Ctx<'s, 'a> {
    set: &'s PolicySet,
    strict: bool,
    slots: Vec<Slot<'a>>,
    evidence: Vec<bool>,
    /// The undeclared keys of every object being read, innermost last; each
    /// object truncates back to where it started when it ends.
    keys: Vec<Cow<'a, str>>,
    /// Every number handed over, for the literal of those that come as `f64`.
    numbers: Numbers<'a>,
}

impl<'a> Ctx<'_, 'a> {
    /// Records an undeclared key of the object whose keys start at `base`;
    /// refuses a duplicate, and more than [`MAX_UNKNOWN_KEYS`].
    fn remember<E: de::Error>(&mut self, base: usize, key: Cow<'a, str>) -> Result<(), E> {
        let open = self.keys.get(base..).unwrap_or_default();
        if open.len() >= MAX_UNKNOWN_KEYS || open.contains(&key) {
            return Err(refuse());
        }
        self.keys.push(key);
        Ok(())
    }
}

/// Which declared fields of one object were given.
enum Seen {
    Few(u64),
    Many(Vec<bool>),
}

impl Seen {
    fn new(n: usize) -> Seen {
        if n <= 64 {
            Seen::Few(0)
        } else {
            Seen::Many(vec![false; n])
        }
    }

    /// Marks field `i`; false when it was already marked (a duplicate key).
    fn mark(&mut self, i: usize) -> bool {
        match self {
            Seen::Few(bits) => {
                let bit = 1u64.checked_shl(i as u32).unwrap_or(0);
                let fresh = *bits & bit == 0;
                *bits |= bit;
                fresh
            }
            Seen::Many(flags) => match flags.get_mut(i) {
                Some(f) => !std::mem::replace(f, true),
                None => false,
            },
        }
    }

    fn has(&self, i: usize) -> bool {
        match self {
            Seen::Few(bits) => bits & 1u64.checked_shl(i as u32).unwrap_or(0) != 0,
            Seen::Many(flags) => flags.get(i).copied().unwrap_or(false),
        }
    }
}

/// `a == b`, cheaper for the short strings of keys and enum values: most
/// unequal ones differ in length or in the first byte, and need no call to
/// `memcmp`.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

/// The index of `key` among `fields`, looking from `from` on (and then
/// from the start).
fn find<T>(fields: &[(String, T)], key: &str, from: usize) -> Option<usize> {
    let (before, after) = fields.split_at(from.min(fields.len()));
    let at = |list: &[(String, T)]| list.iter().position(|(k, _)| same(k, key));
    at(after).map(|i| i + before.len()).or_else(|| at(before))
}

/// Whether every attribute under `node` may be absent.
fn all_optional(set: &PolicySet, node: &Node) -> bool {
    node.fields.iter().all(|(_, child)| match child {
        Child::Attribute(slot) => set.attributes.get(*slot).is_none_or(|a| a.optional),
        Child::Object(inner) => all_optional(set, inner),
    })
}

// ---------------------------------------------------------------- keys ----

/// A string (an object key, an item of a set), borrowed from the text
/// unless it had escapes; anything else is refused.
struct KeySeed;

impl<'a> DeserializeSeed<'a> for KeySeed {
    type Value = Cow<'a, str>;

    fn deserialize<D: de::Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'a> Visitor<'a> for KeySeed {
    type Value = Cow<'a, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'a str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
    }
}

/// For a map handed to a `deserialize_any` visitor, whose first key
/// (`first`) is read: `Ok(Some(text))` when it is serde_json's stand-in for
/// a number (the entry is then consumed), `Err` when it is an object written
/// with the token as its first key, `Ok(None)` for any other object (only
/// its first key consumed).
fn number_text<'a, A: MapAccess<'a>>(map: &mut A, first: &str) -> Result<Option<String>, A::Error> {
    if first != NUMBER_TOKEN {
        return Ok(None);
    }
    let text = map.next_value_seed(NumberText)?;
    if map.next_key::<IgnoredAny>()?.is_some() {
        return Err(refuse());
    }
    Ok(Some(text))
}

/// The value of serde_json's number stand-in: an owned `String`. A string
/// written in the document comes borrowed or as `visit_str`: refused.
struct NumberText;

impl<'a> DeserializeSeed<'a> for NumberText {
    type Value = String;

    fn deserialize<D: de::Deserializer<'a>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Visitor<'_> for NumberText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the text of a number")
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(s)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(refuse())
    }
}

// ------------------------------------------------------------- objects ----

/// An object of the schema tree: its declared keys into slots.
struct ObjectSeed<'c, 's, 'a> {
    ctx: &'c mut Ctx<'s, 'a>,
    node: &'s Node,
    /// The object's own level (the root is 1).
    depth: usize,
    /// The root, where the evidence pack also lives.
    root: bool,
}

impl<'a> DeserializeSeed<'a> for ObjectSeed<'_, '_, 'a> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'a> Visitor<'a> for ObjectSeed<'_, '_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
        let ObjectSeed {
            ctx,
            node,
            depth,
            root,
        } = self;
        if depth > MAX_INPUT_DEPTH {
            return Err(refuse());
        }
        let set = ctx.set;
        let mut seen = Seen::new(node.fields.len());
        // Where the next key is looked for first: documents tend to list
        // keys in the schema's order.
        let mut next = 0;
        let mut evidence_seen = false;
        let base = ctx.keys.len();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == NUMBER_TOKEN {
                return Err(refuse());
            }
            if let Some(i) = find(&node.fields, &key, next) {
                next = i + 1;
                if !seen.mark(i) {
                    return Err(refuse());
                }
                match node.fields.get(i).map(|(_, c)| c) {
                    Some(Child::Attribute(slot)) => {
                        let Some(attr) = set.attributes.get(*slot) else {
                            return Err(refuse());
                        };
                        let Some(target) = ctx.slots.get_mut(*slot) else {
                            return Err(refuse());
                        };
                        let given = map.next_value_seed(AttrSeed {
                            ty: &attr.ty,
                            depth: depth + 1,
                            target,
                            numbers: &mut ctx.numbers,
                        })?;
                        if !given && !attr.optional {
                            return Err(refuse());
                        }
                    }
                    Some(Child::Object(inner)) => {
                        let given = map.next_value_seed(OptionalObject(ObjectSeed {
                            ctx: &mut *ctx,
                            node: inner,
                            depth: depth + 1,
                            root: false,
                        }))?;
                        if !given && !all_optional(set, inner) {
                            return Err(refuse());
                        }
                    }
                    None => return Err(refuse()),
                }
            } else if root && key == EVIDENCE_KEY {
                if std::mem::replace(&mut evidence_seen, true) {
                    return Err(refuse());
                }
                map.next_value_seed(EvidenceSeed {
                    ctx: &mut *ctx,
                    depth: depth + 1,
                })?;
            } else {
                if ctx.strict {
                    return Err(refuse());
                }
                ctx.remember(base, key)?;
                map.next_value_seed(AnySeed {
                    ctx: &mut *ctx,
                    depth: depth + 1,
                    presence: false,
                })?;
            }
        }
        ctx.keys.truncate(base);
        for (i, (_, child)) in node.fields.iter().enumerate() {
            if seen.has(i) {
                continue;
            }
            let fine = match child {
                Child::Attribute(slot) => set.attributes.get(*slot).is_none_or(|a| a.optional),
                Child::Object(inner) => all_optional(set, inner),
            };
            if !fine {
                return Err(refuse());
            }
        }
        Ok(())
    }
}

/// A declared object that may be null (then it counts as absent): whether
/// it was given.
struct OptionalObject<'c, 's, 'a>(ObjectSeed<'c, 's, 'a>);

impl<'a> DeserializeSeed<'a> for OptionalObject<'_, '_, 'a> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'a>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'a> Visitor<'a> for OptionalObject<'_, '_, 'a> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_some<D: de::Deserializer<'a>>(self, d: D) -> Result<bool, D::Error> {
        self.0.deserialize(d).map(|()| true)
    }
}

// ---------------------------------------------------------- attributes ----

/// One attribute's value as its declared type, with the rules of
/// `decode::decode_value`, written into its slot (left as it is for null):
/// whether it was given (not null).
struct AttrSeed<'s, 't, 'a> {
    ty: &'s Type,
    /// The level of the value when it is an array.
    depth: usize,
    target: &'t mut Slot<'a>,
    numbers: &'t mut Numbers<'a>,
}

impl<'a> DeserializeSeed<'a> for AttrSeed<'_, '_, 'a> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'a>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'a> AttrSeed<'_, '_, 'a> {
    fn set<E: de::Error>(self, slot: Option<Slot<'a>>) -> Result<bool, E> {
        match slot {
            Some(slot) => {
                *self.target = slot;
                Ok(true)
            }
            None => Err(refuse()),
        }
    }

    /// An integer (its text has no fraction and no exponent).
    fn integer<E: de::Error>(self, n: i128) -> Result<bool, E> {
        let slot = match self.ty {
            // What `Decimal::parse` gives for the digits: |n| < 2^64 is far
            // below its limit of 1e20, and exact.
            Type::Number => Some(Slot::Number(Decimal::from_units(n * Decimal::ONE_UNITS))),
            // `Number::as_i64`, then `secs >= 0`.
            Type::Duration => i64::try_from(n)
                .ok()
                .filter(|secs| *secs >= 0)
                .map(Slot::Duration),
            _ => None,
        };
        self.set(slot)
    }

    /// A number other than a `u64`/`i64` integer, from its literal: what
    /// `decode::decode_value` gives for the same text under
    /// `arbitrary_precision` (`Number::as_str`, `Number::as_i64`).
    fn literal<E: de::Error>(self, text: Option<&str>) -> Result<bool, E> {
        let Some(text) = text else {
            return Err(refuse());
        };
        let slot = match self.ty {
            Type::Number => Decimal::parse(text).ok().map(Slot::Number),
            Type::Duration => text
                .parse::<i64>()
                .ok()
                .filter(|secs| *secs >= 0)
                .map(Slot::Duration),
            _ => None,
        };
        self.set(slot)
    }

    fn string<E: de::Error>(self, s: &str, own: impl FnOnce() -> Cow<'a, str>) -> Result<bool, E> {
        let slot = match self.ty {
            Type::String => Some(Slot::Str(own())),
            Type::Duration => parse_duration(s).map(Slot::Duration),
            Type::Timestamp => Timestamp::parse(s).map(Slot::Timestamp),
            Type::Enum(values) => values
                .iter()
                .position(|x| same(x, s))
                .map(|i| Slot::Enum(i as u32)),
            Type::Bool | Type::Number | Type::Set(_) => None,
        };
        self.set(slot)
    }
}

impl<'a> Visitor<'a> for AttrSeed<'_, '_, 'a> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an attribute value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<bool, E> {
        let slot = matches!(self.ty, Type::Bool).then_some(Slot::Bool(b));
        self.set(slot)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<bool, E> {
        self.numbers.next();
        self.integer(i128::from(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<bool, E> {
        self.numbers.next();
        self.integer(i128::from(n))
    }

    /// Without `arbitrary_precision`, every other number (`-0`, fractions,
    /// exponents, integers beyond 64 bits): read from its literal, never
    /// from the `f64` (see `numbers.rs`).
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        self.numbers.next();
        let text = self.numbers.last();
        self.literal(text)
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'a str) -> Result<bool, E> {
        self.string(s, || Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<bool, E> {
        self.string(s, || Cow::Owned(s.to_owned()))
    }

    /// A number other than a `u64`/`i64` integer (see the module comment);
    /// any real object is a type error.
    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<bool, A::Error> {
        let Some(first) = map.next_key_seed(KeySeed)? else {
            return Err(refuse());
        };
        let Some(text) = number_text(&mut map, &first)? else {
            return Err(refuse());
        };
        self.numbers.next();
        self.literal(Some(&text))
    }

    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<bool, A::Error> {
        let Type::Set(element) = self.ty else {
            return Err(refuse());
        };
        if self.depth > MAX_INPUT_DEPTH {
            return Err(refuse());
        }
        let slot = match element.as_ref() {
            Type::Enum(values) => {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element_seed(KeySeed)? {
                    match values.iter().position(|x| same(x, &s)) {
                        Some(i) => out.push(i as u32),
                        None => return Err(refuse()),
                    }
                }
                Slot::Enums(out)
            }
            _ => {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element_seed(KeySeed)? {
                    out.push(s);
                }
                Slot::Strings(out)
            }
        };
        self.set(Some(slot))
    }
}

// ------------------------------------------------------------ evidence ----

/// The evidence pack: null, or an object of fields whose presence is
/// recorded (`decode::is_present`).
struct EvidenceSeed<'c, 's, 'a> {
    ctx: &'c mut Ctx<'s, 'a>,
    depth: usize,
}

impl<'a> DeserializeSeed<'a> for EvidenceSeed<'_, '_, 'a> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for EvidenceSeed<'_, '_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of evidence fields")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
        let EvidenceSeed { ctx, depth } = self;
        if depth > MAX_INPUT_DEPTH {
            return Err(refuse());
        }
        let set = ctx.set;
        let defs = &set.evidence;
        let mut seen = Seen::new(defs.len());
        let base = ctx.keys.len();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            // A number (not an object) or an object keyed by the token.
            if key == NUMBER_TOKEN {
                return Err(refuse());
            }
            if let Some(first) = defs.iter().position(|e| same(&e.name, &key)) {
                if !seen.mark(first) {
                    return Err(refuse());
                }
                let present = map.next_value_seed(AnySeed {
                    ctx: &mut *ctx,
                    depth: depth + 1,
                    presence: true,
                })?;
                for (def, flag) in defs.iter().zip(ctx.evidence.iter_mut()) {
                    if same(&def.name, &key) {
                        *flag = present;
                    }
                }
            } else {
                if ctx.strict {
                    return Err(refuse());
                }
                ctx.remember(base, key)?;
                map.next_value_seed(AnySeed {
                    ctx: &mut *ctx,
                    depth: depth + 1,
                    presence: false,
                })?;
            }
        }
        ctx.keys.truncate(base);
        Ok(())
    }
}

// ---------------------------------------------------------- any value ----

/// Any value, walked without being built, refusing what the slow path's
/// reader refuses (duplicate keys, depth; serde_json checks the rest);
/// with `presence`, whether it counts as present evidence.
struct AnySeed<'c, 's, 'a> {
    ctx: &'c mut Ctx<'s, 'a>,
    /// The level of the value when it is an object or array.
    depth: usize,
    presence: bool,
}

impl<'a> DeserializeSeed<'a> for AnySeed<'_, '_, 'a> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'a>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for AnySeed<'_, '_, 'a> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<bool, E> {
        Ok(b)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        self.ctx.numbers.next();
        Ok(true)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        self.ctx.numbers.next();
        Ok(true)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        self.ctx.numbers.next();
        Ok(true)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<bool, E> {
        Ok(self.presence && !crate::identity::is_blank(s))
    }

    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<bool, A::Error> {
        let AnySeed { ctx, depth, .. } = self;
        if depth > MAX_INPUT_DEPTH {
            return Err(refuse());
        }
        let mut any = false;
        while seq
            .next_element_seed(AnySeed {
                ctx: &mut *ctx,
                depth: depth + 1,
                presence: false,
            })?
            .is_some()
        {
            any = true;
        }
        Ok(any)
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<bool, A::Error> {
        let AnySeed { ctx, depth, .. } = self;
        let Some(first) = map.next_key_seed(KeySeed)? else {
            // `{}`: a level of its own, and empty.
            return if depth > MAX_INPUT_DEPTH {
                Err(refuse())
            } else {
                Ok(false)
            };
        };
        if number_text(&mut map, &first)?.is_some() {
            ctx.numbers.next();
            return Ok(true);
        }
        if depth > MAX_INPUT_DEPTH {
            return Err(refuse());
        }
        let base = ctx.keys.len();
        let mut key = Some(first);
        while let Some(k) = key {
            if k == NUMBER_TOKEN {
                return Err(refuse());
            }
            ctx.remember(base, k)?;
            map.next_value_seed(AnySeed {
                ctx: &mut *ctx,
                depth: depth + 1,
                presence: false,
            })?;
            key = map.next_key_seed(KeySeed)?;
        }
        ctx.keys.truncate(base);
        Ok(true)
    }
}

// Not an API (benches and tests outside the crate): see hook.rs.
#[doc(hidden)]
pub mod hook;
