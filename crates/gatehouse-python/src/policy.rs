//! `gatehouse.Policy`: a compiled policy set, evaluated in-process.
//!
//! Every evaluation goes through the engine's JSON text path
//! (`Policy::evaluate_json_with`, see `convert`), with the GIL released
//! while the engine decides: one `Policy` may be shared by any number of
//! Python threads, which then decide in parallel.

use std::path::PathBuf;
use std::sync::Arc;

use gatehouse::EvalOptions;
use gatehouse::eval::InputError;
use gatehouse::values::Timestamp;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};

use crate::convert;
use crate::decision::{Decision, decision_list, unique_codes};
use crate::diagnostics::{Diagnostic, policy_error, to_list};

/// Below this many actions a batch is decided on the calling thread.
const PARALLEL_BATCH: usize = 512;

/// A compiled policy set: load it once, evaluate many actions.
#[pyclass(module = "gatehouse", frozen)]
pub struct Policy {
    pub(crate) inner: Arc<gatehouse::Policy>,
}

/// What one action is before the engine reads it: JSON text, or why the
/// Python value has no JSON form.
pub enum Prepared {
    Text(String),
    Unwritable(convert::Unwritable),
}

/// A dict (or list, ...) becomes JSON text; `str` and `bytes` are JSON text
/// already. Any other failure is a refused input, never an exception.
pub fn prepare(action: &Bound<'_, PyAny>) -> Prepared {
    if let Ok(s) = action.cast::<PyString>() {
        return match s.to_cow() {
            Ok(text) => Prepared::Text(text.into_owned()),
            Err(_) => Prepared::Unwritable(convert::Unwritable {
                path: "$".into(),
                message: "the JSON text is not valid Unicode (a lone surrogate)".into(),
            }),
        };
    }
    if let Ok(b) = action.cast::<PyBytes>() {
        return match std::str::from_utf8(b.as_bytes()) {
            Ok(text) => Prepared::Text(text.to_owned()),
            Err(e) => Prepared::Unwritable(convert::Unwritable {
                path: "$".into(),
                message: format!("the JSON text is not UTF-8 ({e})"),
            }),
        };
    }
    let mut text = String::new();
    match convert::write_json(action, &mut text) {
        Ok(()) => Prepared::Text(text),
        Err(e) => Prepared::Unwritable(e),
    }
}

/// Reads `now=`: an RFC 3339 string or a timezone-aware `datetime`.
pub fn parse_now(now: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Timestamp>> {
    let Some(now) = now else { return Ok(None) };
    if now.is_none() {
        return Ok(None);
    }
    let text: String = if let Ok(s) = now.cast::<PyString>() {
        s.to_cow()?.into_owned()
    } else if now.hasattr("isoformat")? && now.hasattr("tzinfo")? {
        if now.getattr("tzinfo")?.is_none() {
            return Err(PyValueError::new_err(
                "now: a naive datetime has no time zone; pass an aware one (datetime.now(timezone.utc))",
            ));
        }
        now.call_method0("isoformat")?.extract()?
    } else {
        return Err(PyTypeError::new_err(
            "now: an RFC 3339 string or a timezone-aware datetime",
        ));
    };
    Timestamp::parse_checked(&text)
        .map(Some)
        .map_err(|e| PyValueError::new_err(format!("now: {text:?} is not an RFC 3339 time: {e}")))
}

impl Policy {
    /// Decides one prepared action (no GIL needed).
    ///
    /// A readable input is decided on the engine's hot path (`decode_json`
    /// and a `Verdict`, what `evaluate_json_with` does) and keeps its text
    /// so the digest is computed only when asked for; an unreadable one
    /// goes through `evaluate_json_with`, which reports the exact errors
    /// (and the digest, when the text is a document).
    pub fn decide(&self, prepared: Prepared, options: &EvalOptions) -> Decision {
        match prepared {
            Prepared::Text(text) => {
                let decided = match self.inner.decode_json_with(&text, options) {
                    Ok(input) => {
                        let mut verdict = self.inner.verdict();
                        let v = verdict.decide(&input);
                        // A sampled `auto` action's reasons depend on its
                        // digest: decided whole (below) when a share applies.
                        v.sample()
                            .is_none()
                            .then(|| (v.outcome(), unique_codes(v.reason_codes())))
                    }
                    Err(_) => None,
                };
                match decided {
                    Some((outcome, codes)) => {
                        Decision::lazy(outcome, codes, Arc::clone(&self.inner), text, *options)
                    }
                    None => Decision::new(self.inner.evaluate_json_with(&text, options)),
                }
            }
            Prepared::Unwritable(e) => Decision::new(
                self.inner
                    .invalid_input(vec![InputError::new(e.path, e.message)]),
            ),
        }
    }

    /// Decides many prepared actions, in order, on every core for large
    /// batches.
    pub fn decide_all(&self, prepared: Vec<Prepared>, options: &EvalOptions) -> Vec<Decision> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if prepared.len() < PARALLEL_BATCH || threads < 2 {
            return prepared
                .into_iter()
                .map(|p| self.decide(p, options))
                .collect();
        }
        let total = prepared.len();
        let chunk = total.div_ceil(threads);
        let mut parts: Vec<Vec<Prepared>> = Vec::with_capacity(threads);
        let mut rest = prepared.into_iter();
        loop {
            let part: Vec<Prepared> = rest.by_ref().take(chunk).collect();
            if part.is_empty() {
                break;
            }
            parts.push(part);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .into_iter()
                .map(|part| {
                    let len = part.len();
                    let handle = scope.spawn(move || {
                        part.into_iter()
                            .map(|p| self.decide(p, options))
                            .collect::<Vec<_>>()
                    });
                    (len, handle)
                })
                .collect();
            let mut out = Vec::with_capacity(total);
            for (len, handle) in handles {
                match handle.join() {
                    Ok(part) => out.extend(part),
                    // The engine does not panic (fail closed); if a thread
                    // ever did, its actions are blocked, never dropped.
                    Err(_) => out.extend((0..len).map(|_| {
                        Decision::new(self.inner.invalid_input(vec![InputError::new(
                            "$",
                            "the engine failed on this batch; nothing was decided",
                        )]))
                    })),
                }
            }
            out
        })
    }
}

fn options(now: Option<Timestamp>, strict: bool) -> EvalOptions {
    EvalOptions::default().with_now(now).with_strict(strict)
}

#[pymethods]
impl Policy {
    /// Loads a `.gate` file, or a directory as one policy set.
    ///
    /// Raises `PolicyError` (with `.diagnostics`) when it does not compile.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Policy> {
        let loaded = py.detach(|| gatehouse::Policy::load(&path));
        loaded
            .map(|p| Policy { inner: Arc::new(p) })
            .map_err(|d| policy_error(py, &d))
    }

    /// Compiles one policy from its text; `name` is the file name
    /// diagnostics and rule locations show.
    #[staticmethod]
    #[pyo3(signature = (text, name = "policy.gate"))]
    fn from_source(py: Python<'_>, text: &str, name: &str) -> PyResult<Policy> {
        gatehouse::Policy::from_source(name, text)
            .map(|p| Policy { inner: Arc::new(p) })
            .map_err(|d| policy_error(py, &d))
    }

    /// Compiles a policy set from `{file name: text}` (or `(name, text)`
    /// pairs): one set, as a directory would be.
    #[staticmethod]
    fn from_sources(py: Python<'_>, sources: &Bound<'_, PyAny>) -> PyResult<Policy> {
        let pairs = source_pairs(sources)?;
        gatehouse::Policy::from_sources(pairs)
            .map(|p| Policy { inner: Arc::new(p) })
            .map_err(|d| policy_error(py, &d))
    }

    /// The policy's name.
    #[getter]
    fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// The policy's version.
    #[getter]
    fn version(&self) -> String {
        self.inner.version().to_owned()
    }

    /// `sha256:` of the policy set's canonical source: approvals bind to it.
    #[getter]
    fn digest(&self) -> String {
        self.inner.digest().to_owned()
    }

    /// Warnings found while compiling (the policy compiled).
    #[getter]
    fn warnings(&self) -> Vec<Diagnostic> {
        to_list(self.inner.warnings())
    }

    /// Decides one action: a dict (or any JSON-shaped value), or JSON text
    /// as `str` or `bytes` (exact decimals; duplicate keys refused).
    ///
    /// Never raises for a bad action: it is `block` with `INVALID_INPUT`
    /// and the JSON path in `input_errors`. `now` (RFC 3339 string or aware
    /// datetime) sets `timeout.expires_at` and time conditions; `strict`
    /// refuses fields the schema does not declare.
    #[pyo3(signature = (action, *, now = None, strict = false))]
    fn evaluate(
        &self,
        py: Python<'_>,
        action: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
        strict: bool,
    ) -> PyResult<Decision> {
        let options = options(parse_now(now)?, strict);
        let prepared = prepare(action);
        Ok(py.detach(|| self.decide(prepared, &options)))
    }

    /// Decides many actions (any iterable of what `evaluate` takes), in
    /// order, on every core for large batches, with the GIL released.
    #[pyo3(signature = (actions, *, now = None, strict = false))]
    fn evaluate_many<'py>(
        &self,
        py: Python<'py>,
        actions: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        strict: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let options = options(parse_now(now)?, strict);
        let mut prepared = Vec::new();
        for action in actions.try_iter()? {
            prepared.push(prepare(&action?));
        }
        let decisions = py.detach(|| self.decide_all(prepared, &options));
        decision_list(py, decisions)
    }

    /// The outcome alone, as the `Outcome` member: the cheapest call.
    #[pyo3(signature = (action, *, now = None, strict = false))]
    fn outcome<'py>(
        &self,
        py: Python<'py>,
        action: &Bound<'py, PyAny>,
        now: Option<&Bound<'py, PyAny>>,
        strict: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = options(parse_now(now)?, strict);
        let prepared = prepare(action);
        let outcome = py.detach(|| self.decide(prepared, &options).engine_outcome());
        crate::decision::outcome_object(py, outcome)
    }

    /// Verifies approvals for one action: each signed approval (a compact
    /// JWS string from `gatehouse approve`, or an OIDC envelope dict) is
    /// authenticated against `trust`, then the approvals that pass are
    /// checked against the decision (digest, expiry, roles, separation of
    /// duties, evidence). `now` defaults to the current time.
    ///
    /// An action or approvals list that cannot be read raises `ValueError`:
    /// nothing is verified.
    #[pyo3(signature = (action, approvals, trust, *, now = None, requested_at = None, allow_unsigned = false))]
    #[allow(clippy::too_many_arguments)]
    fn verify(
        &self,
        py: Python<'_>,
        action: &Bound<'_, PyAny>,
        approvals: &Bound<'_, PyAny>,
        trust: &crate::verify::TrustStore,
        now: Option<&Bound<'_, PyAny>>,
        requested_at: Option<&Bound<'_, PyAny>>,
        allow_unsigned: bool,
    ) -> PyResult<crate::verify::Verification> {
        crate::verify::verify(
            self,
            py,
            action,
            approvals,
            trust,
            now,
            requested_at,
            allow_unsigned,
        )
    }

    /// Decides every row of Arrow data (a table, record batch, stream or
    /// anything with `__arrow_c_stream__` / `__arrow_c_array__`) and
    /// returns a `pyarrow.Table` of decisions, one row per input row (see
    /// `gatehouse.arrow`).
    #[pyo3(
        signature = (data, *, column = Some("action".to_owned()), now = None, strict = false, digest = false),
        text_signature = "($self, data, *, column='action', now=None, strict=False, digest=False)"
    )]
    fn evaluate_arrow<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        column: Option<String>,
        now: Option<&Bound<'py, PyAny>>,
        strict: bool,
        digest: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::arrow::evaluate(py, self, data, column.as_deref(), now, strict, digest)
    }

    fn __repr__(&self) -> String {
        format!(
            "Policy(name={:?}, version={:?}, digest={:?})",
            self.inner.name(),
            self.inner.version(),
            self.inner.digest()
        )
    }
}

/// `{file name: text}` or `(name, text)` pairs, at least one.
pub(crate) fn source_pairs(sources: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    if let Ok(d) = sources.cast::<PyDict>() {
        for (k, v) in d.iter() {
            pairs.push((k.extract::<String>()?, v.extract::<String>()?));
        }
    } else {
        for item in sources.try_iter()? {
            pairs.push(item?.extract::<(String, String)>()?);
        }
    }
    if pairs.is_empty() {
        return Err(PyValueError::new_err("from_sources: no policy files given"));
    }
    Ok(pairs)
}
