//! Approval state and audit: action digests, verification of collected
//! approvals, audit records, replay and impact analysis.

pub mod chain;
pub mod digest;
pub mod digest_text;
pub mod impact;
pub mod log;
pub mod record;
pub mod redact;
pub mod replay;
pub mod verify;
