//! Static analysis of approval matrices. A policy can compile and still be
//! wrong: a rule that never fires, a threshold gap, an approval no one can
//! give, an external send that ends up `auto`. Each lint has a stable `L`
//! code in the diagnostic table (`crate::diagnostic::Code`), a default level
//! and a documentation entry (`registry`).
//!
//! Findings are ordinary [`Diagnostic`]s, so every output format renders
//! them; configuration (`gatehouse.toml`, suppression comments) adjusts
//! their level or drops them afterwards.

pub mod config;
pub mod registry;
pub mod sarif;
mod semantic;
pub mod solver;
mod structural;

use crate::Policy;
use crate::diagnostic::Diagnostic;

/// Most secondary labels one finding shows (the message gives the count).
const MAX_RELATED: usize = 5;

/// Runs every lint on a compiled policy set, at default levels.
pub fn lint(policy: &Policy) -> Vec<Diagnostic> {
    let set = policy.checked();
    let mut out = Vec::new();
    structural::run(set, &mut out);
    semantic::run(policy, &mut out);
    out
}
