//! The hash chain of the audit log: every record names its sequence number
//! and the hash of the line before it, so an edited, deleted, inserted,
//! reordered or truncated record breaks a link that `gatehouse audit verify`
//! finds (docs/audit.md).
//!
//! A chained line is the record's JSON with two fields in front:
//!
//! ```json
//! {"seq":7,"prev":"sha256:…","record":"decision","id":"dec_…",…}
//! ```
//!
//! - `seq` counts chained records from 1, with no gaps.
//! - `prev` is `sha256:` and the lowercase hex SHA-256 of the exact bytes of
//!   the previous record's line, without its newline; the first record of a
//!   log links to [`GENESIS`]. When a log begins with records written before
//!   the chain existed ("unchained"), the first chained record links to the
//!   last of them instead, so they cannot be dropped or swapped unnoticed
//!   at the seam (the earlier ones stay unprotected).
//!
//! A chain proves the order and content of every record up to the last one;
//! the last line itself is covered only by a [`Checkpoint`] kept elsewhere.

pub(crate) mod tail;
mod verify;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use sha2::{Digest as _, Sha256};

pub use tail::{LastRecord, last_record};
pub use verify::{
    ChainReport, ChainStatus, ChainVerifier, Head, LineKind, MAX_LISTED, Problem, TornWrite,
};

/// What the first record of a log links to: `sha256:` and 64 zeros.
pub const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// The first bytes of every line the chained writer writes. A line that is
/// not JSON and starts with them (or is a prefix of them) is what an
/// interrupted write leaves.
pub const LINE_START: &[u8] = b"{\"seq\":";

/// The raw SHA-256 of one line's bytes (without the newline).
pub type LineHash = [u8; 32];

/// The hash of one line: the exact bytes, without the newline.
pub fn hash_line(line: &[u8]) -> LineHash {
    Sha256::digest(line).into()
}

/// `sha256:` and the lowercase hex of a line hash.
pub fn hash_text(hash: &LineHash) -> String {
    format!("sha256:{}", hex::encode(hash))
}

/// Reads `sha256:` and 64 lowercase hex digits; `None` for anything else
/// (upper case included: one hash has one spelling).
pub fn parse_hash(text: &str) -> Option<LineHash> {
    let digits = text.strip_prefix("sha256:")?;
    // `hex` also reads upper case, which is refused first.
    if !digits
        .bytes()
        .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    let mut out = [0u8; 32];
    // Fails unless there are exactly 64 digits.
    hex::decode_to_slice(digits, &mut out).ok()?;
    Some(out)
}

/// The genesis value as a hash.
pub const GENESIS_HASH: LineHash = [0u8; 32];

/// A record's place in the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainLink {
    /// The sequence number, from 1.
    pub seq: u64,
    /// The hash of the previous record's line ([`GENESIS_HASH`] for the first).
    pub prev: LineHash,
}

impl Serialize for ChainLink {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("ChainLink", 2)?;
        st.serialize_field("seq", &self.seq)?;
        st.serialize_field("prev", &hash_text(&self.prev))?;
        st.end()
    }
}

impl ChainLink {
    /// The link that follows a record: `seq + 1`, linking to `hash`.
    pub fn after(seq: u64, hash: LineHash) -> ChainLink {
        ChainLink {
            seq: seq.saturating_add(1),
            prev: hash,
        }
    }

    /// Takes `seq` and `prev` out of a record object. `Ok(None)` when it has
    /// neither (an unchained record); an error when only one is there or
    /// either is not well formed, so a half-chained line is never a record.
    pub fn take_from(object: &mut Map<String, Json>) -> Result<Option<ChainLink>, String> {
        let seq = super::take_key(object, "seq");
        let prev = super::take_key(object, "prev");
        match (seq, prev) {
            (None, None) => Ok(None),
            (Some(seq), Some(prev)) => {
                let seq = seq
                    .as_u64()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| format!("`seq` is not a whole number from 1: {seq}"))?;
                let prev = prev
                    .as_str()
                    .and_then(parse_hash)
                    .ok_or_else(|| format!("`prev` is not `sha256:` and 64 hex digits: {prev}"))?;
                Ok(Some(ChainLink { seq, prev }))
            }
            (Some(_), None) => Err("`seq` without `prev`".into()),
            (None, Some(_)) => Err("`prev` without `seq`".into()),
        }
    }

    /// The chained line for a record serialized as `record_json` (a JSON
    /// object, no newline): `seq` and `prev` first, then the record's own
    /// fields. `None` when `record_json` is not an object's text.
    pub fn line(&self, record_json: &str) -> Option<String> {
        let rest = record_json.strip_prefix('{')?;
        let mut out = String::with_capacity(record_json.len() + 96);
        out.push_str("{\"seq\":");
        out.push_str(&self.seq.to_string());
        out.push_str(",\"prev\":\"");
        out.push_str(&hash_text(&self.prev));
        out.push('"');
        if rest != "}" {
            out.push(',');
        }
        out.push_str(rest);
        Some(out)
    }
}

/// A checkpoint: the sequence number and line hash of a record, kept away
/// from the log (another machine, a ticket, a signed commit). A log that
/// verifies against it still holds that record, unchanged, and everything
/// before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The sequence number of the last record covered.
    pub seq: u64,
    /// `sha256:…` of that record's line.
    pub head: String,
}

impl Checkpoint {
    /// Reads a checkpoint from its JSON text; the error says what is wrong.
    pub fn parse(text: &str) -> Result<(Checkpoint, LineHash), String> {
        let cp: Checkpoint = serde_json::from_str(text.trim()).map_err(|e| {
            format!("not a checkpoint (`{{\"seq\": N, \"head\": \"sha256:…\"}}`): {e}")
        })?;
        if cp.seq == 0 {
            return Err("`seq` must be 1 or more".into());
        }
        let head = parse_hash(&cp.head)
            .ok_or_else(|| format!("`head` is not `sha256:` and 64 hex digits: `{}`", cp.head))?;
        Ok((cp, head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn genesis_is_zero_and_round_trips() {
        assert_eq!(parse_hash(GENESIS), Some(GENESIS_HASH));
        assert_eq!(hash_text(&GENESIS_HASH), GENESIS);
    }

    #[test]
    fn malformed_hashes_are_refused() {
        for bad in [
            "",
            "sha256:",
            "sha256:00",
            &GENESIS.to_uppercase(),
            &GENESIS.replace("sha256", "sha512"),
            &format!("{GENESIS}0"),
            &GENESIS.replace('0', "g"),
        ] {
            assert_eq!(parse_hash(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_half_chained_record_is_an_error() {
        let mut o = Map::new();
        o.insert("seq".into(), Json::from(1));
        assert!(ChainLink::take_from(&mut o).is_err());
        let mut o = Map::new();
        o.insert("prev".into(), Json::from(GENESIS));
        assert!(ChainLink::take_from(&mut o).is_err());
        let mut o = Map::new();
        o.insert("seq".into(), Json::from(0));
        o.insert("prev".into(), Json::from(GENESIS));
        assert!(ChainLink::take_from(&mut o).is_err(), "seq counts from 1");
    }

    #[test]
    fn the_link_goes_first_and_reads_back() {
        let link = ChainLink::after(6, hash_line(b"x"));
        let line = link.line(r#"{"record":"decision","id":"d"}"#).unwrap();
        assert!(line.starts_with(r#"{"seq":7,"prev":"sha256:"#), "{line}");
        assert_eq!(
            crate::audit::key_order(&line),
            ["seq", "prev", "record", "id"]
        );
        let mut v: Json = serde_json::from_str(&line).unwrap();
        let o = v.as_object_mut().unwrap();
        assert_eq!(ChainLink::take_from(o).unwrap(), Some(link));
        let mut rest: Vec<&String> = o.keys().collect();
        rest.sort();
        assert_eq!(rest, ["id", "record"]);
    }

    #[test]
    fn checkpoints_are_checked() {
        let ok = format!(r#"{{"seq": 3, "head": "{GENESIS}"}}"#);
        assert!(Checkpoint::parse(&ok).is_ok());
        assert!(Checkpoint::parse(r#"{"seq": 3, "head": "sha256:1"}"#).is_err());
        assert!(Checkpoint::parse(&format!(r#"{{"seq": 0, "head": "{GENESIS}"}}"#)).is_err());
        assert!(
            Checkpoint::parse(&format!(r#"{{"seq": 3, "head": "{GENESIS}", "x": 1}}"#)).is_err()
        );
    }

    proptest! {
        #[test]
        fn hash_text_and_parse_hash_are_inverse(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let h = hash_line(&bytes);
            prop_assert_eq!(parse_hash(&hash_text(&h)), Some(h));
        }
    }
}
