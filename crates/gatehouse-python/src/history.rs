//! Native helpers of `gatehouse.history`: an impact diff and a replay of
//! one batch of corpus / audit-log lines, each returning the engine's own
//! report for that batch as JSON. `gatehouse.history` hands these to Ray
//! Data workers (`map_batches`) and adds the reports up.
//!
//! Invariant: a batch is read by the very code `gatehouse diff` and
//! `gatehouse replay` read a file with (`audit::impact::diff` with one
//! thread, `audit::log::LogReader` + `audit::replay::Replayer`): each row
//! is written back as one line of text, so the skip / unreadable rules are
//! the CLI's by construction. A null row is the line `null` (unreadable,
//! or a bad log line). Only the hash chain, which links each line to the
//! one before it across the whole file, is not checked per batch.
//!
//! A batch may also be `bytes`: whole lines of a file, read by a worker
//! from its byte range, which the same readers split exactly as the CLI
//! splits the file (on `\n` only, blank lines counted).

use gatehouse::EvalOptions;
use gatehouse::audit::impact::{DiffOptions, diff};
use gatehouse::audit::log::LogReader;
use gatehouse::audit::replay::Replayer;
use pyo3::exceptions::{PyIOError, PyValueError};
use pyo3::prelude::*;

use crate::policy::Policy;

/// The corpus text of a batch: `bytes` are whole lines of a file as they
/// are (a byte range cut at line starts, see `gatehouse.history`); Arrow
/// data gives the rows of a text column, each as one line.
fn lines_of(data: &Bound<'_, PyAny>, column: &str) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = data.cast::<pyo3::types::PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    let (reader, column) = crate::arrow::reader_of(data, Some(column))?;
    let column = column.unwrap_or_default();
    let mut text = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| PyValueError::new_err(format!("arrow: {e}")))?;
        let Some(array) = batch.column_by_name(&column) else {
            return Err(pyo3::exceptions::PyKeyError::new_err(format!(
                "no column {column:?} of corpus lines"
            )));
        };
        for row in crate::arrow::text_column(array, 0, batch.num_rows())? {
            text.extend_from_slice(row.unwrap_or("null").as_bytes());
            text.push(b'\n');
        }
    }
    Ok(text)
}

/// The impact of `new` against `old` on one batch of corpus lines (an
/// action, or an audit record whose `input` is the action), as
/// `gatehouse diff --format json` reports it for the same lines; `limit`
/// examples per transition.
#[pyfunction]
#[pyo3(signature = (old, new, lines, *, column = "text", strict = false, limit = 0))]
pub(crate) fn impact_batch(
    py: Python<'_>,
    old: &Policy,
    new: &Policy,
    lines: &Bound<'_, PyAny>,
    column: &str,
    strict: bool,
    limit: usize,
) -> PyResult<String> {
    let text = lines_of(lines, column)?;
    let options = DiffOptions::default()
        .with_limit(limit)
        .with_threads(1)
        .with_eval(EvalOptions::default().with_strict(strict));
    py.detach(|| {
        let report = diff(
            &old.inner,
            &new.inner,
            text.as_slice(),
            &options,
            &mut |_| {},
        )
        .map_err(|e| PyIOError::new_err(format!("reading the batch: {e}")))?;
        serde_json::to_string(&report).map_err(|e| PyValueError::new_err(e.to_string()))
    })
}

/// Replays one batch of audit-log lines against `policy`: the summary,
/// transitions and record mismatches `gatehouse replay --format json`
/// reports for the same lines (without the hash chain).
#[pyfunction]
#[pyo3(signature = (policy, lines, *, column = "text"))]
pub(crate) fn replay_batch(
    py: Python<'_>,
    policy: &Policy,
    lines: &Bound<'_, PyAny>,
    column: &str,
) -> PyResult<String> {
    let text = lines_of(lines, column)?;
    py.detach(|| {
        let mut replayer = Replayer::new(&policy.inner);
        for entry in LogReader::new(text.as_slice()) {
            let entry = entry.map_err(|e| PyIOError::new_err(format!("reading the batch: {e}")))?;
            replayer.push(entry);
        }
        let report = replayer.finish();
        let doc = serde_json::json!({
            "summary": report.summary,
            "transitions": report.transitions,
            "record_mismatches": report.record_mismatches,
        });
        serde_json::to_string(&doc).map_err(|e| PyValueError::new_err(e.to_string()))
    })
}

/// The `(file name, text)` pairs `Policy.load(path)` compiles: what a Ray
/// worker gets to compile the same policy set (`Policy.from_sources`).
#[pyfunction]
pub(crate) fn policy_sources(
    py: Python<'_>,
    path: std::path::PathBuf,
) -> PyResult<Vec<(String, String)>> {
    let files = py
        .detach(|| gatehouse::loader::read_set(&path))
        .map_err(|d| crate::diagnostics::policy_error(py, &d))?;
    Ok(files
        .iter()
        .map(|f| (f.name.clone(), f.text.clone()))
        .collect())
}
