//! Approvals from Python: a trust store, and `Policy.verify`, which
//! authenticates signed approvals and checks them against one action.

use std::path::PathBuf;
use std::sync::Arc;

use gatehouse::audit::verify::{Verdict, VerifyOptions};
use gatehouse::input::Syntax;
use gatehouse::trust::{
    Credential, SignedVerification, SignedVerifyOptions, TrustStore as EngineStore,
};
use gatehouse::values::Timestamp;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::convert;
use crate::policy::{Policy, parse_now};

/// Who may approve and with which keys: `approvers.toml`.
#[pyclass(module = "gatehouse", frozen)]
pub struct TrustStore {
    inner: Arc<EngineStore>,
}

#[pymethods]
impl TrustStore {
    /// Reads `approvers.toml` (and the JWKS file it names).
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<TrustStore> {
        EngineStore::load(&path)
            .map(|s| TrustStore { inner: Arc::new(s) })
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// A store from TOML text, with the JWKS document's text when the
    /// store trusts an OIDC issuer.
    #[staticmethod]
    #[pyo3(signature = (text, jwks = None))]
    fn from_toml(text: &str, jwks: Option<&str>) -> PyResult<TrustStore> {
        EngineStore::from_toml(text, jwks)
            .map(|s| TrustStore { inner: Arc::new(s) })
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }
}

/// The result of verifying approvals for one action.
#[pyclass(module = "gatehouse", frozen)]
pub struct Verification {
    inner: SignedVerification,
}

#[pymethods]
impl Verification {
    /// `"execute"`, `"pending"`, `"denied"` or `"expired"`.
    #[getter]
    fn verdict(&self) -> &'static str {
        match self.inner.verification.verdict {
            Verdict::Execute => "execute",
            Verdict::Pending => "pending",
            Verdict::Denied => "denied",
            Verdict::Expired => "expired",
        }
    }

    /// Whether every requirement is met: the action may execute now.
    #[getter]
    fn may_execute(&self) -> bool {
        self.inner.verification.verdict == Verdict::Execute
    }

    /// The digest of the action the approvals were checked against.
    #[getter]
    fn action_digest(&self) -> Option<String> {
        self.inner.verification.action_digest.clone()
    }

    /// The reason codes, in order (refused credentials included).
    #[getter]
    fn reason_codes(&self) -> Vec<String> {
        self.inner
            .verification
            .reasons
            .iter()
            .map(|r| r.code.clone())
            .collect()
    }

    /// How many approvals are still missing.
    #[getter]
    fn missing_approvals(&self) -> u32 {
        self.inner.verification.missing.approvals
    }

    /// The evidence still missing.
    #[getter]
    fn missing_evidence(&self) -> Vec<String> {
        self.inner.verification.missing.evidence.clone()
    }

    /// The verification's JSON text, as `gatehouse verify` prints it.
    fn to_json(&self) -> PyResult<String> {
        crate::document::to_json(&gatehouse::eval::DocumentFormat::VERIFICATION, &self.inner)
    }

    /// The verification as a dict (the JSON of `to_json()`, `format` first).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::document::to_dict(
            py,
            &gatehouse::eval::DocumentFormat::VERIFICATION,
            &self.inner,
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "Verification(verdict={:?}, reasons={:?})",
            self.verdict(),
            self.reason_codes()
        )
    }
}

fn json_value(value: &Bound<'_, PyAny>, what: &str) -> PyResult<serde_json::Value> {
    let text = match crate::policy::prepare(value) {
        crate::policy::Prepared::Text(t) => t,
        crate::policy::Prepared::Unwritable(convert::Unwritable { path, message }) => {
            return Err(PyValueError::new_err(format!(
                "{what}: at {path}: {message}"
            )));
        }
    };
    gatehouse::input::parse(&text, Syntax::Json).map_err(|errors| {
        let list: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect();
        PyValueError::new_err(format!("{what}: {}", list.join("; ")))
    })
}

/// `Policy.verify`: see its documentation in policy.rs.
#[allow(clippy::too_many_arguments)]
pub fn verify(
    policy: &Policy,
    py: Python<'_>,
    action: &Bound<'_, PyAny>,
    approvals: &Bound<'_, PyAny>,
    trust: &TrustStore,
    now: Option<&Bound<'_, PyAny>>,
    requested_at: Option<&Bound<'_, PyAny>>,
    allow_unsigned: bool,
) -> PyResult<Verification> {
    let now = parse_now(now)?.unwrap_or_else(Timestamp::now_utc);
    let requested_at = parse_now(requested_at)?;
    let input = json_value(action, "action")?;
    let approvals = json_value(approvals, "approvals")?;
    let credentials = Credential::list_from_json(&approvals)
        .map_err(|e| PyValueError::new_err(format!("approvals: {e}")))?;
    let options = SignedVerifyOptions::new(VerifyOptions::new(now).with_requested_at(requested_at))
        .with_allow_unsigned(allow_unsigned);
    let store = Arc::clone(&trust.inner);
    let engine = Arc::clone(&policy.inner);
    let inner = py.detach(move || engine.verify_signed(&input, &credentials, &store, &options));
    Ok(Verification { inner })
}
