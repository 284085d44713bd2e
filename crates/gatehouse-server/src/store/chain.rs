//! The audit chain's head check, shared by every store.

use gatehouse::audit::chain::{ChainLink, GENESIS_HASH, LineHash, hash_line, parse_hash};
use serde_json::Value as Json;

use crate::error::GateError;

/// Checks the chain's last records before the chain is extended, given the
/// last two audit rows as `(seq, line, hash)`, newest first: the newest
/// row's hash column is the hash of its line, the line is chained with the
/// row's own `seq`, and its `prev` is the hash of the row before it (the
/// genesis hash for seq 1). Gives the head `(seq, hash of its line)`
/// (`(0, genesis)` for an empty chain). A store whose last rows were
/// edited refuses to link new records to a forgery; an edit further back
/// is found by `gatehouse audit verify` on the export (checking the whole
/// chain here would make every start read every record).
pub(super) fn check_tail(rows: &[(i64, String, String)]) -> Result<(i64, LineHash), GateError> {
    let Some((seq, line, hash)) = rows.first() else {
        return Ok((0, GENESIS_HASH));
    };
    let seq = *seq;
    let edited = |why: &str| {
        GateError::store(format!(
            "the audit chain's last record (seq {seq}) {why}: the database was edited; the gate will not extend a chain it cannot vouch for (restore the database from a backup, or export and check it with `gatehouse audit verify`)"
        ))
    };
    let computed = hash_line(line.as_bytes());
    if parse_hash(hash) != Some(computed) {
        return Err(edited("does not match its stored hash"));
    }
    let link = match serde_json::from_str::<Json>(line) {
        Ok(Json::Object(mut object)) => ChainLink::take_from(&mut object).ok().flatten(),
        _ => None,
    };
    let Some(link) = link else {
        return Err(edited("is not a chained JSON record"));
    };
    if i64::try_from(link.seq).ok() != Some(seq) {
        return Err(edited(&format!("is written as seq {}", link.seq)));
    }
    let expected_prev = match rows.get(1) {
        Some((before, line, _)) if *before == seq - 1 => Some(hash_line(line.as_bytes())),
        None if seq == 1 => Some(GENESIS_HASH),
        _ => None,
    };
    if expected_prev != Some(link.prev) {
        return Err(edited("does not link to the record before it"));
    }
    Ok((seq, computed))
}
