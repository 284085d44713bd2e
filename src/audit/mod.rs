//! Approval state and audit: action digests, verification of collected
//! approvals, audit records, replay and impact analysis.

pub mod digest;
pub mod verify;
