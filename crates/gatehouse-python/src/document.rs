//! Top-level documents as the CLI writes them: the JSON with its
//! `"format": "gatehouse.<kind>/1"` field first (docs/schemas.md).

use gatehouse::eval::{DocumentFormat, write_document};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::Serialize;

/// The document's compact JSON text, exactly as `gatehouse eval` prints it.
pub fn to_json<T: Serialize + ?Sized>(format: &DocumentFormat, value: &T) -> PyResult<String> {
    let mut out = Vec::new();
    write_document(&mut out, format, value, false)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    String::from_utf8(out).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The document as a dict, `format` first, then the value's fields.
pub fn to_dict<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    format: &DocumentFormat,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let fields =
        pythonize::pythonize(py, value).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let fields = fields.cast_into::<PyDict>()?;
    let out = PyDict::new(py);
    out.set_item(DocumentFormat::FIELD, format.value)?;
    out.update(fields.as_mapping())?;
    Ok(out.into_any())
}
