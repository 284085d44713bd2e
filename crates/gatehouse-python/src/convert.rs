//! Python values to JSON text, for the engine's exact text path.
//!
//! Every action reaches the engine as JSON text (`Policy::evaluate_json_with`),
//! so Python callers get exactly what the CLI and the service decide: exact
//! decimals, duplicate-key and depth refusal, the same action digest.
//!
//! Invariants: the writer never recurses deeper than
//! [`MAX_INPUT_DEPTH`] + 1 (so a dict that contains itself ends), stops as
//! soon as the text passes [`MAX_INPUT_BYTES`] (the engine would refuse it
//! anyway), and refuses what JSON cannot say (NaN, infinities, keys that are
//! not strings, objects of other types) with the path of the value, which
//! the caller turns into `block` / `INVALID_INPUT`. Nothing is silently
//! changed: a float NaN is not written as `null`.

use std::fmt::Write as _;

use gatehouse::limits::{MAX_INPUT_BYTES, MAX_INPUT_DEPTH};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};

/// Why a Python value is not a JSON document: where, and what.
#[derive(Debug)]
pub struct Unwritable {
    /// The JSON path of the value (`$.action.amount`).
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// Writes `value` as JSON text into `out`.
///
/// No Python code of the caller's runs while the value is read: strings,
/// dicts, lists and tuples are read through the C API (a subclass's
/// `__iter__`, `items` or `__str__` is never called), integers are printed
/// by `int.__repr__`, and only the exact `decimal.Decimal` type is accepted
/// (its methods are C code). A container changed while it is read anyway
/// (a finalizer run by the garbage collector, another thread) makes pyo3's
/// iterator panic; that is caught here and refused like any unreadable
/// value, never raised.
pub fn write_json(value: &Bound<'_, PyAny>, out: &mut String) -> Result<(), Unwritable> {
    let mut path = String::from("$");
    let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        write_value(value, out, &mut path, 0)
    }));
    written.unwrap_or_else(|_| {
        Err(fail(
            "$",
            "the value changed while it was read (a dict or list was modified during the call)",
        ))
    })
}

fn fail(path: &str, message: impl Into<String>) -> Unwritable {
    Unwritable {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn write_value(
    value: &Bound<'_, PyAny>,
    out: &mut String,
    path: &mut String,
    depth: usize,
) -> Result<(), Unwritable> {
    if out.len() > MAX_INPUT_BYTES {
        return Err(fail(
            "$",
            format!("the input is larger than {MAX_INPUT_BYTES} bytes as JSON"),
        ));
    }
    if value.is_none() {
        out.push_str("null");
    } else if let Ok(s) = value.cast::<PyString>() {
        let text = s.to_cow().map_err(|_| {
            fail(
                path,
                "a string that is not valid Unicode (a lone surrogate)",
            )
        })?;
        write_string(&text, out);
    } else if let Ok(d) = value.cast::<PyDict>() {
        if depth >= MAX_INPUT_DEPTH {
            return Err(too_deep(path));
        }
        out.push('{');
        for (n, (k, v)) in d.iter().enumerate() {
            let key = k.cast::<PyString>().map_err(|_| {
                fail(
                    path,
                    format!(
                        "a key that is not a string ({}): JSON object keys are strings",
                        type_name(&k)
                    ),
                )
            })?;
            let key = key
                .to_cow()
                .map_err(|_| fail(path, "a key that is not valid Unicode (a lone surrogate)"))?;
            let key: &str = &key;
            if n > 0 {
                out.push(',');
            }
            write_string(key, out);
            out.push(':');
            let len = path.len();
            push_key(path, key);
            write_value(&v, out, path, depth + 1)?;
            path.truncate(len);
        }
        out.push('}');
    } else if let Ok(b) = value.cast::<PyBool>() {
        out.push_str(if b.is_true() { "true" } else { "false" });
    } else if let Ok(i) = value.cast::<PyInt>() {
        if let Ok(n) = i.extract::<i64>() {
            let _ = write!(out, "{n}");
        } else {
            // Beyond 64 bits: its exact digits; the engine refuses what its
            // decimals cannot hold.
            let digits = value
                .py()
                .get_type::<PyInt>()
                .call_method1("__repr__", (i,))
                .and_then(|r| r.cast_into::<PyString>().map_err(PyErr::from))
                .map_err(|_| fail(path, "an integer that cannot be printed"))?;
            let digits = digits
                .to_cow()
                .map_err(|_| fail(path, "an integer that cannot be printed"))?;
            out.push_str(&digits);
        }
    } else if let Ok(f) = value.cast::<PyFloat>() {
        let x = f.value();
        if !x.is_finite() {
            return Err(fail(
                path,
                format!("{x} is not a JSON number (NaN and infinities have no JSON form)"),
            ));
        }
        let text = serde_json::to_string(&x).map_err(|e| fail(path, e.to_string()))?;
        out.push_str(&text);
    } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        if depth >= MAX_INPUT_DEPTH {
            return Err(too_deep(path));
        }
        out.push('[');
        // The C API's items, not the type's `__iter__`.
        let items: Vec<Bound<'_, PyAny>> = match value.cast::<PyList>() {
            Ok(list) => list.iter().collect(),
            Err(_) => match value.cast::<PyTuple>() {
                Ok(tuple) => tuple.iter().collect(),
                Err(_) => Vec::new(),
            },
        };
        for (n, item) in items.into_iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            let len = path.len();
            path.push('[');
            let _ = write!(path, "{n}");
            path.push(']');
            write_value(&item, out, path, depth + 1)?;
            path.truncate(len);
        }
        out.push(']');
    } else if is_decimal(value) {
        write_decimal(value, out, path)?;
    } else {
        return Err(fail(
            path,
            format!(
                "a {} is not a JSON value (use dict, list, tuple, str, int, float, bool, None or decimal.Decimal)",
                type_name(value)
            ),
        ));
    }
    Ok(())
}

fn too_deep(path: &str) -> Unwritable {
    fail(
        path,
        format!("the input nests deeper than {MAX_INPUT_DEPTH} levels"),
    )
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "value".to_owned())
}

/// Whether `value` is exactly a `decimal.Decimal` (not a subclass, not a
/// look-alike class named `Decimal`).
fn is_decimal(value: &Bound<'_, PyAny>) -> bool {
    static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let py = value.py();
    let class = DECIMAL.get_or_try_init(py, || -> PyResult<Py<PyType>> {
        Ok(py
            .import("decimal")?
            .getattr("Decimal")?
            .cast_into::<PyType>()?
            .unbind())
    });
    match class {
        Ok(class) => value.get_type().is(class.bind(py)),
        Err(_) => false,
    }
}

/// A `decimal.Decimal` as its exact digits (`str(d)` is valid JSON for
/// every finite decimal: `1.50`, `1E+3`, `-0`).
fn write_decimal(value: &Bound<'_, PyAny>, out: &mut String, path: &str) -> Result<(), Unwritable> {
    let finite = value
        .call_method0("is_finite")
        .and_then(|f| f.extract::<bool>())
        .unwrap_or(false);
    if !finite {
        return Err(fail(
            path,
            "a Decimal that is NaN or infinite is not a JSON number",
        ));
    }
    let text = value
        .str()
        .map_err(|_| fail(path, "a Decimal that cannot be printed"))?;
    let text = text
        .to_cow()
        .map_err(|_| fail(path, "a Decimal that cannot be printed"))?;
    out.push_str(&text);
    Ok(())
}

fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        write_string(key, path);
        path.push(']');
    }
}

fn write_string(s: &str, out: &mut String) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Copy runs of bytes that need no escape; every byte that does is
    // ASCII, so each cut is on a char boundary (`get` never fails).
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_controls_and_quotes() {
        let mut out = String::new();
        write_string("a\"b\\c\nd\u{1}", &mut out);
        assert_eq!(out, r#""a\"b\\c\nd\u0001""#);
    }

    #[test]
    fn unusual_keys_are_quoted_in_paths() {
        let mut path = String::from("$");
        push_key(&mut path, "amount");
        push_key(&mut path, "a b");
        assert_eq!(path, r#"$.amount["a b"]"#);
    }
}
