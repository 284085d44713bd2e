//! The `gatehouse` command line: the commands (`src/cli`), the linter
//! (`src/lint`), the documentation generator (`src/doc`) and the policy test
//! runner (`src/testing`).
//!
//! This library exists so that the binary stays thin and the tests can reach
//! the linter and the test runner directly. It is not a stable API: programs
//! that decide or verify actions depend on the engine library
//! (`gatehouse-engine`, imported as `gatehouse`), which carries the semver
//! promise.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Fail closed: no input may panic a command. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod cli;
pub mod doc;
pub mod lint;
pub mod testing;

// The engine's modules under their old paths (`crate::eval`, ...): the
// commands were written inside the engine crate and read naturally this way.
use gatehouse::{
    Code, Diagnostic, Policy, audit, check, diagnostic, eval, input, limits, loader, source,
    syntax, trust, values,
};
