//! Policy diagnostics as Python objects, and the exception a policy that
//! does not compile raises.

use gatehouse::diagnostic::{self, Diagnostics};
use pyo3::prelude::*;
use pyo3::types::PyList;

pyo3::create_exception!(
    gatehouse,
    PolicyError,
    pyo3::exceptions::PyValueError,
    "A policy that does not compile (or cannot be read): `diagnostics` lists every error, each with its code, file, line and column."
);

/// A place in a policy file a diagnostic points at.
#[pyclass(module = "gatehouse", frozen, get_all)]
#[derive(Clone)]
pub struct Label {
    /// What the label says about the span.
    pub text: String,
    /// The file, as the policy was loaded.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset of the span in the file.
    pub offset: usize,
    /// Length of the span in bytes.
    pub length: usize,
}

#[pymethods]
impl Label {
    fn __repr__(&self) -> String {
        format!(
            "Label({:?} at {}:{}:{})",
            self.text, self.file, self.line, self.column
        )
    }
}

/// One finding about a policy: a stable code (`E0201`), its name
/// (`unknown-attribute`), severity, message, where, and how to fix it.
#[pyclass(module = "gatehouse", frozen, get_all)]
#[derive(Clone)]
pub struct Diagnostic {
    /// The stable code (`E0201`, `W0301`).
    pub code: String,
    /// The code's name (`unknown-attribute`).
    pub name: String,
    /// `"error"` or `"warning"`.
    pub severity: String,
    /// What is wrong.
    pub message: String,
    /// The file, when the finding has a place.
    pub file: Option<String>,
    /// 1-based line of the primary label.
    pub line: Option<usize>,
    /// 1-based column of the primary label.
    pub column: Option<usize>,
    /// Every labelled span.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: String,
    /// Related places (`note` lines).
    pub related: Vec<Diagnostic>,
    text: String,
}

#[pymethods]
impl Diagnostic {
    /// Whether it is an error (the policy does not compile).
    #[getter]
    fn is_error(&self) -> bool {
        self.severity == "error"
    }

    fn __str__(&self) -> String {
        self.text.clone()
    }

    fn __repr__(&self) -> String {
        match (&self.file, self.line, self.column) {
            (Some(f), Some(l), Some(c)) => {
                format!(
                    "Diagnostic({} {:?} at {f}:{l}:{c})",
                    self.code, self.message
                )
            }
            _ => format!("Diagnostic({} {:?})", self.code, self.message),
        }
    }
}

impl Diagnostic {
    /// The Python view of an engine diagnostic.
    pub fn from_engine(d: &diagnostic::Diagnostic) -> Diagnostic {
        let location = d.location();
        let labels = d
            .labels
            .iter()
            .filter_map(|l| {
                let file = d.file.as_ref()?;
                let loc = file.location(l.span);
                Some(Label {
                    text: l.text.clone(),
                    file: loc.file,
                    line: loc.line,
                    column: loc.column,
                    offset: l.span.start,
                    length: l.span.len(),
                })
            })
            .collect();
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = diagnostic::write_plain(&mut text, d);
        Diagnostic {
            code: d.code.as_str().to_owned(),
            name: d.code.name().to_owned(),
            severity: match d.severity() {
                diagnostic::Severity::Error => "error",
                diagnostic::Severity::Warning => "warning",
            }
            .to_owned(),
            message: d.message.clone(),
            file: location.as_ref().map(|l| l.file.clone()),
            line: location.as_ref().map(|l| l.line),
            column: location.as_ref().map(|l| l.column),
            labels,
            help: d.help.clone(),
            related: d.related.iter().map(Diagnostic::from_engine).collect(),
            text,
        }
    }
}

/// The Python list of a set of diagnostics.
pub fn to_list(diagnostics: &Diagnostics) -> Vec<Diagnostic> {
    diagnostics.iter().map(Diagnostic::from_engine).collect()
}

/// A `PolicyError` carrying the diagnostics (`err.diagnostics`), whose
/// message is their plain-text rendering.
pub fn policy_error(py: Python<'_>, diagnostics: &Diagnostics) -> PyErr {
    let list = to_list(diagnostics);
    let message = if list.is_empty() {
        "the policy does not compile".to_owned()
    } else {
        list.iter()
            .map(|d| d.text.clone())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let err = PolicyError::new_err(message);
    let objects: PyResult<Bound<'_, PyList>> = list
        .into_iter()
        .map(|d| Bound::new(py, d))
        .collect::<PyResult<Vec<_>>>()
        .and_then(|v| PyList::new(py, v));
    if let Ok(objects) = objects {
        let _ = err.value(py).setattr("diagnostics", objects);
    }
    err
}
