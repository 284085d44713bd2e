//! gatehouse: the `.gate` matrix, through the public API only.

use gatehouse::{Decision, Policy};

use crate::verdict::{Size, Verdict, sys_reason};

/// The 15-rule matrix, as shipped next to this harness.
pub const MATRIX: &str = include_str!("../policies/matrix.gate");

/// The policy text for one size: the matrix plus `extra` rules
/// `action.target == "sys:<k>"`, each with its own reason code.
pub fn source(size: Size) -> String {
    let mut text = String::with_capacity(MATRIX.len() + size.extra * 120);
    text.push_str(MATRIX);
    if size.extra > 0 {
        text.push_str("\n# Generated: one rule per system, most inputs match none.\n");
    }
    for k in 0..size.extra {
        let code = sys_reason(k);
        text.push_str(&format!(
            "reason {code} \"access to system {k}\"\n\
             rule sys_{k} when action.target == \"sys:{k}\" then tier 3 because {code}\n"
        ));
    }
    text
}

pub fn compile(size: Size) -> Policy {
    from_text(source(size))
}

pub fn from_text(text: String) -> Policy {
    match Policy::from_source("matrix.gate", text) {
        Ok(p) => p,
        Err(e) => panic!("the gatehouse matrix does not compile: {e:?}"),
    }
}

pub fn verdict(d: &Decision) -> Verdict {
    Verdict::new(d.outcome as u8, d.reason_codes())
}

/// The outcome and reason set of an allocation-free verdict.
pub fn of_verdict(v: &gatehouse::Verdict<'_>) -> Verdict {
    Verdict::new(v.outcome() as u8, v.reason_codes())
}
