//! The `gatehouse._native` extension module: the engine in-process for
//! Python (the `gatehouse-py` wheel, built with maturin). The Python
//! package `gatehouse` (python/gatehouse) re-exports these classes and adds
//! the client for `gatehouse serve`, tool gating and history helpers.
//!
//! Fail closed: a Python value that is not a JSON document is a `block`
//! decision with `INVALID_INPUT` and its JSON path, never an exception and
//! never a looser outcome; the engine decides with the GIL released.

mod arrow;
mod convert;
mod decision;
mod diagnostics;
mod document;
mod history;
mod policy;
mod verify;

use pyo3::prelude::*;

/// `sha256:` of an action's canonical JSON (RFC 8785): what approvals
/// bind to. `None` when the action is not a JSON document.
#[pyfunction]
fn action_digest(py: Python<'_>, action: &Bound<'_, PyAny>) -> Option<String> {
    match policy::prepare(action) {
        // Only a document the engine reads has a digest; then the text's
        // digest, which is what `evaluate` and the CLI give.
        policy::Prepared::Text(text) => py.detach(|| {
            gatehouse::input::parse(&text, gatehouse::input::Syntax::Json)
                .ok()
                .map(|_| {
                    gatehouse::audit::digest_text::action_digest_text(
                        &text,
                        &mut gatehouse::audit::digest_text::DigestScratch::new(),
                    )
                })
        }),
        policy::Prepared::Unwritable(_) => None,
    }
}

/// Checks a policy (a `.gate` file or a directory) without raising: every
/// error and warning as a `Diagnostic`, empty when it is clean.
#[pyfunction]
fn check(py: Python<'_>, path: std::path::PathBuf) -> Vec<diagnostics::Diagnostic> {
    match py.detach(|| gatehouse::Policy::load(&path)) {
        Ok(p) => diagnostics::to_list(p.warnings()),
        Err(d) => diagnostics::to_list(&d),
    }
}

/// `check` for policy text: one text, `{file name: text}` or `(name, text)` pairs.
#[pyfunction]
#[pyo3(signature = (sources, name = "policy.gate"))]
fn check_source(sources: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<diagnostics::Diagnostic>> {
    // One text, or the file names and texts `Policy.from_sources` takes.
    let result = if let Ok(text) = sources.extract::<String>() {
        gatehouse::Policy::from_source(name, &text)
    } else {
        gatehouse::Policy::from_sources(policy::source_pairs(sources)?)
    };
    Ok(match result {
        Ok(p) => diagnostics::to_list(p.warnings()),
        Err(d) => diagnostics::to_list(&d),
    })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<policy::Policy>()?;
    m.add_class::<decision::Decision>()?;
    m.add_class::<decision::Tier>()?;
    m.add_class::<decision::Reason>()?;
    m.add_class::<decision::MatchedRule>()?;
    m.add_class::<decision::Approvals>()?;
    m.add_class::<decision::ApproverGroup>()?;
    m.add_class::<decision::ApproverRole>()?;
    m.add_class::<decision::ForbiddenApprover>()?;
    m.add_class::<decision::Evidence>()?;
    m.add_class::<decision::Timeout>()?;
    m.add_class::<decision::Sample>()?;
    m.add_class::<decision::Condition>()?;
    m.add_class::<decision::InputError>()?;
    m.add_class::<decision::PolicyRef>()?;
    m.add_class::<diagnostics::Diagnostic>()?;
    m.add_class::<diagnostics::Label>()?;
    m.add_class::<verify::TrustStore>()?;
    m.add_class::<verify::Verification>()?;
    m.add("PolicyError", m.py().get_type::<diagnostics::PolicyError>())?;
    m.add_function(wrap_pyfunction!(action_digest, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(check_source, m)?)?;
    m.add_function(wrap_pyfunction!(arrow::evaluate_arrow, m)?)?;
    m.add_function(wrap_pyfunction!(history::impact_batch, m)?)?;
    m.add_function(wrap_pyfunction!(history::replay_batch, m)?)?;
    m.add_function(wrap_pyfunction!(history::policy_sources, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
