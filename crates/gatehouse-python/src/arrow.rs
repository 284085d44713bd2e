//! `gatehouse.arrow`: decide a whole Arrow table, record batch or stream
//! (anything with the Arrow PyCapsule interface: pyarrow, polars, ...) and
//! get an Arrow table of decisions back, one row per input row, in order.
//!
//! The fast path is a column of JSON text (utf8, large_utf8, string_view):
//! the strings are read in place from the Arrow buffers (zero-copy), decoded
//! into the policy's typed slots (`Policy::decode_json_with`) and decided
//! into one reused `Verdict` per thread, with the GIL released, on every
//! core. A struct column, or the whole row (`column=None`), is first written
//! as JSON text with arrow-json.
//!
//! Invariants: every input row gives exactly one output row, in order; a
//! row that is not a valid action (null, not JSON, wrong types) is a
//! `block`/`INVALID_INPUT` row, never an exception and never dropped; the
//! columns agree with `Policy.evaluate` on the same text (the rows the fast
//! path does not take go through `evaluate_json_with`, the same call
//! `Policy.evaluate` makes). Memory is bounded per slice of `SLICE_ROWS`
//! rows (plus the output itself).

use std::sync::Arc;

use arrow_array::builder::{
    ListBuilder, StringBuilder, StructBuilder, UInt8Builder, UInt32Builder,
};
use arrow_array::types::{Int8Type, UInt8Type};
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Int8Array, LargeStringArray, RecordBatch, StringArray,
    StringViewArray, StructArray, UInt8Array,
};
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use gatehouse::eval::InputError;
use gatehouse::{EvalOptions, Outcome};
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3_arrow::PyTable;
use pyo3_arrow::input::{AnyArray, AnyRecordBatch};

use crate::policy::Policy;

/// Rows decided at once: the JSON text written for struct rows and the
/// per-thread builders never hold more than this many rows.
const SLICE_ROWS: usize = 65_536;
/// Below this many rows a slice is decided on the calling thread.
const PARALLEL_ROWS: usize = 512;

/// The outcome keywords, indexed by `outcome_rank` (the order of
/// `gatehouse.Outcome`): the `outcome` column's dictionary.
const OUTCOMES: [&str; 5] = ["auto", "queue", "explicit", "dual", "block"];

pub(crate) fn rank(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Auto => 0,
        Outcome::Queue => 1,
        Outcome::Explicit => 2,
        Outcome::Dual => 3,
        Outcome::Block => 4,
    }
}

/// The output schema (`action_digest` only when asked for).
fn schema(digest: bool) -> SchemaRef {
    let utf8_list = || DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    let mut fields = vec![
        Field::new(
            "outcome",
            DataType::Dictionary(Box::new(DataType::UInt8), Box::new(DataType::Utf8)),
            false,
        ),
        Field::new("outcome_rank", DataType::UInt8, false),
        Field::new("tier", DataType::UInt32, true),
        Field::new("tier_name", DataType::Utf8, true),
        Field::new("reasons", utf8_list(), false),
        Field::new("approvals_required", DataType::UInt32, true),
        Field::new("roles", utf8_list(), false),
        Field::new("evidence_missing", utf8_list(), false),
        Field::new(
            "input_errors",
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(error_fields()),
                true,
            ))),
            false,
        ),
        Field::new(
            "policy_digest",
            DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
            false,
        ),
    ];
    if digest {
        fields.push(Field::new("action_digest", DataType::Utf8, true));
    }
    Arc::new(Schema::new(fields))
}

fn error_fields() -> Fields {
    Fields::from(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
    ])
}

/// The columns of one output batch, filled row by row.
struct Columns {
    ranks: UInt8Builder,
    tier: UInt32Builder,
    tier_name: StringBuilder,
    reasons: ListBuilder<StringBuilder>,
    approvals: UInt32Builder,
    roles: ListBuilder<StringBuilder>,
    missing: ListBuilder<StringBuilder>,
    errors: ListBuilder<StructBuilder>,
    digest: Option<StringBuilder>,
    /// Scratch for roles without duplicates (reused, no allocation per row).
    seen: Vec<String>,
    scratch: gatehouse::audit::digest_text::DigestScratch,
}

impl Columns {
    fn new(rows: usize, digest: bool) -> Columns {
        Columns {
            ranks: UInt8Builder::with_capacity(rows),
            tier: UInt32Builder::with_capacity(rows),
            tier_name: StringBuilder::with_capacity(rows, rows * 8),
            reasons: ListBuilder::with_capacity(StringBuilder::new(), rows),
            approvals: UInt32Builder::with_capacity(rows),
            roles: ListBuilder::with_capacity(StringBuilder::new(), rows),
            missing: ListBuilder::with_capacity(StringBuilder::new(), rows),
            errors: ListBuilder::with_capacity(StructBuilder::from_fields(error_fields(), 0), rows),
            digest: digest.then(|| StringBuilder::with_capacity(rows, rows * 71)),
            seen: Vec::new(),
            scratch: gatehouse::audit::digest_text::DigestScratch::new(),
        }
    }

    /// One row from the verdict of a decoded input (the hot path).
    fn push_verdict(&mut self, v: &gatehouse::Verdict<'_>, text: &str) {
        self.ranks.append_value(rank(v.outcome()));
        match v.tier() {
            Some((id, name)) => {
                self.tier.append_value(id);
                self.tier_name.append_value(name);
            }
            None => {
                self.tier.append_null();
                self.tier_name.append_null();
            }
        }
        for code in v.reason_codes() {
            self.reasons.values().append_value(code);
        }
        self.reasons.append(true);
        self.approvals.append_option(v.approval_count());
        // No approvals (auto, block): no roles. Callers of the roles column
        // are the other outcomes; those take `push_roles` below.
        self.roles.append(true);
        for name in v.evidence_missing() {
            self.missing.values().append_value(name);
        }
        self.missing.append(true);
        self.errors.append(true);
        if let Some(d) = &mut self.digest {
            d.append_value(gatehouse::audit::digest_text::action_digest_text(
                text,
                &mut self.scratch,
            ));
        }
    }

    /// One row from an owned decision (approvals, refused input).
    fn push_decision(&mut self, d: &gatehouse::Decision) {
        self.ranks.append_value(rank(d.outcome));
        match &d.tier {
            Some(t) => {
                self.tier.append_value(t.id);
                self.tier_name.append_value(&t.name);
            }
            None => {
                self.tier.append_null();
                self.tier_name.append_null();
            }
        }
        for r in &d.reasons {
            self.reasons.values().append_value(&r.code);
        }
        self.reasons.append(true);
        self.approvals
            .append_option(d.approvals.as_ref().map(|a| a.count));
        // Roles in order, without duplicates: `Approvals.roles` in Python.
        self.seen.clear();
        for role in d
            .approvals
            .iter()
            .flat_map(|a| &a.groups)
            .flat_map(|g| &g.roles)
        {
            if !self.seen.contains(&role.name) {
                self.seen.push(role.name.clone());
                self.roles.values().append_value(&role.name);
            }
        }
        self.roles.append(true);
        for name in &d.evidence.missing {
            self.missing.values().append_value(name);
        }
        self.missing.append(true);
        for e in &d.input_errors {
            let s = self.errors.values();
            // The struct's two fields are the StringBuilders error_fields()
            // declares; both get a value for every entry, so they stay aligned.
            if let Some(b) = s.field_builder::<StringBuilder>(0) {
                b.append_value(&e.path);
            }
            if let Some(b) = s.field_builder::<StringBuilder>(1) {
                b.append_value(&e.message);
            }
            s.append(true);
        }
        self.errors.append(true);
        if let Some(b) = &mut self.digest {
            b.append_option(d.action_digest.as_deref());
        }
    }

    fn finish(mut self, schema: &SchemaRef, policy_digest: &str) -> PyResult<RecordBatch> {
        let ranks: UInt8Array = self.ranks.finish();
        let rows = ranks.len();
        let outcome = DictionaryArray::<UInt8Type>::try_new(
            ranks.clone(),
            Arc::new(StringArray::from(OUTCOMES.to_vec())),
        )
        .map_err(arrow_error)?;
        let policy = DictionaryArray::<Int8Type>::try_new(
            Int8Array::from(vec![0i8; rows]),
            Arc::new(StringArray::from(vec![policy_digest])),
        )
        .map_err(arrow_error)?;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(outcome),
            Arc::new(ranks),
            Arc::new(self.tier.finish()),
            Arc::new(self.tier_name.finish()),
            Arc::new(self.reasons.finish()),
            Arc::new(self.approvals.finish()),
            Arc::new(self.roles.finish()),
            Arc::new(self.missing.finish()),
            Arc::new(self.errors.finish()),
            Arc::new(policy),
        ];
        if let Some(mut d) = self.digest {
            columns.push(Arc::new(d.finish()));
        }
        // The builders' list fields are nullable `item`s, as the schema says.
        RecordBatch::try_new(schema.clone(), columns).map_err(arrow_error)
    }
}

fn arrow_error(e: arrow_schema::ArrowError) -> PyErr {
    PyValueError::new_err(format!("arrow: {e}"))
}

/// Decides one row into `out`. `None` is a null row: the JSON `null`, which
/// the engine refuses as `Policy.evaluate(None)` does.
fn decide_row(
    policy: &gatehouse::Policy,
    verdict: &mut gatehouse::Verdict<'_>,
    out: &mut Columns,
    text: Option<&str>,
    options: &EvalOptions,
) {
    let text = text.unwrap_or("null");
    match policy.decode_json_with(text, options) {
        Ok(input) => {
            let v = verdict.decide(&input);
            let sampling = v.sample().is_some();
            if v.approval_count().is_some() || sampling {
                // Roles live in the owned decision's approvals; whether an
                // `auto` action is sampled (SAMPLED_FOR_REVIEW) needs its
                // digest.
                let mut d = v.to_decision(&input, options);
                if out.digest.is_some() || sampling {
                    let digest =
                        gatehouse::audit::digest_text::action_digest_text(text, &mut out.scratch);
                    d.set_action_digest(Some(digest), options);
                }
                if out.digest.is_none() {
                    d.action_digest = None;
                }
                out.push_decision(&d);
            } else {
                out.push_verdict(v, text);
            }
        }
        // Refused: the exact errors (and digest) come from the same call
        // `Policy.evaluate` makes.
        Err(_) => out.push_decision(&policy.evaluate_json_with(text, options)),
    }
}

/// Decides rows on one thread into one output batch.
fn decide_part(
    policy: &gatehouse::Policy,
    rows: &[Option<&str>],
    options: &EvalOptions,
    digest: bool,
    schema: &SchemaRef,
) -> PyResult<RecordBatch> {
    let mut verdict = policy.verdict();
    let mut out = Columns::new(rows.len(), digest);
    for text in rows {
        decide_row(policy, &mut verdict, &mut out, *text, options);
    }
    out.finish(schema, policy.digest())
}

/// A batch whose every row is refused (a worker thread failed: the rows are
/// blocked, never dropped).
fn refused_part(
    policy: &gatehouse::Policy,
    rows: usize,
    digest: bool,
    schema: &SchemaRef,
) -> PyResult<RecordBatch> {
    let d = policy.invalid_input(vec![InputError::new(
        "$",
        "the engine failed on this batch; nothing was decided",
    )]);
    let mut out = Columns::new(rows, digest);
    for _ in 0..rows {
        out.push_decision(&d);
    }
    out.finish(schema, policy.digest())
}

/// Decides a slice of rows, split over every core when it is large.
fn decide_slice(
    policy: &gatehouse::Policy,
    rows: &[Option<&str>],
    options: &EvalOptions,
    digest: bool,
    schema: &SchemaRef,
    out: &mut Vec<RecordBatch>,
) -> PyResult<()> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if rows.len() < PARALLEL_ROWS || threads < 2 {
        out.push(decide_part(policy, rows, options, digest, schema)?);
        return Ok(());
    }
    let chunk = rows.len().div_ceil(threads);
    let parts: Vec<PyResult<RecordBatch>> = std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|part| {
                let handle =
                    scope.spawn(move || decide_part(policy, part, options, digest, schema));
                (part.len(), handle)
            })
            .collect();
        handles
            .into_iter()
            .map(|(len, h)| match h.join() {
                Ok(batch) => batch,
                Err(_) => refused_part(policy, len, digest, schema),
            })
            .collect()
    });
    for part in parts {
        out.push(part?);
    }
    Ok(())
}

/// Where the rows' JSON text comes from in one input batch.
enum Source {
    /// A column of JSON text, read in place.
    Text(ArrayRef),
    /// Struct rows (a struct column, or the whole batch), written as JSON.
    Struct(StructArray),
}

fn source_of(batch: &RecordBatch, column: Option<&str>) -> PyResult<Source> {
    let Some(name) = column else {
        return Ok(Source::Struct(StructArray::from(batch.clone())));
    };
    let Some(array) = batch.column_by_name(name) else {
        let names: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        return Err(PyKeyError::new_err(format!(
            "no column {name:?} (columns: {names:?}); pass column=NAME, or column=None to decide each whole row"
        )));
    };
    match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            Ok(Source::Text(array.clone()))
        }
        DataType::Struct(_) => Ok(Source::Struct(
            array
                .as_any()
                .downcast_ref::<StructArray>()
                .cloned()
                .ok_or_else(|| PyTypeError::new_err("a struct column that is not a StructArray"))?,
        )),
        other => Err(PyTypeError::new_err(format!(
            "column {name:?} is {other}: the actions must be JSON text (utf8, large_utf8, string_view) or a struct"
        ))),
    }
}

/// The rows `start..end` of a column of text, borrowed from its buffers;
/// a `TypeError` for a column of another type.
pub(crate) fn text_column(
    array: &ArrayRef,
    start: usize,
    end: usize,
) -> PyResult<Vec<Option<&str>>> {
    match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            Ok(text_rows(array, start, end))
        }
        other => Err(PyTypeError::new_err(format!(
            "the lines must be text (utf8, large_utf8, string_view), not {other}"
        ))),
    }
}

/// The rows `start..end` of a text column, borrowed from its buffers.
fn text_rows(array: &ArrayRef, start: usize, end: usize) -> Vec<Option<&str>> {
    let any = array.as_any();
    fn pick(valid: bool, s: &str) -> Option<&str> {
        valid.then_some(s)
    }
    if let Some(a) = any.downcast_ref::<StringArray>() {
        return (start..end)
            .map(|i| pick(a.is_valid(i), a.value(i)))
            .collect();
    }
    if let Some(a) = any.downcast_ref::<LargeStringArray>() {
        return (start..end)
            .map(|i| pick(a.is_valid(i), a.value(i)))
            .collect();
    }
    if let Some(a) = any.downcast_ref::<StringViewArray>() {
        return (start..end)
            .map(|i| pick(a.is_valid(i), a.value(i)))
            .collect();
    }
    // source_of accepts only the three types above.
    vec![None; end - start]
}

/// Struct rows `start..end` written as JSON text into `buf`; returns each
/// row's span (`None` for a null row).
fn struct_rows(
    array: &StructArray,
    start: usize,
    end: usize,
    buf: &mut Vec<u8>,
) -> PyResult<Vec<Option<(usize, usize)>>> {
    buf.clear();
    let slice = array.slice(start, end - start);
    let field: FieldRef = Arc::new(Field::new("row", slice.data_type().clone(), true));
    // Null fields are left out, as a missing key: what a JSON writer of a
    // dict without that key would give.
    let options = arrow_json::writer::EncoderOptions::default().with_explicit_nulls(false);
    let mut encoder = arrow_json::writer::make_encoder(&field, &slice, &options).map_err(|e| {
        PyTypeError::new_err(format!("these columns cannot be written as JSON: {e}"))
    })?;
    let mut spans = Vec::with_capacity(slice.len());
    for i in 0..slice.len() {
        if slice.is_null(i) {
            spans.push(None);
            continue;
        }
        let from = buf.len();
        encoder.encode(i, buf);
        spans.push(Some((from, buf.len())));
    }
    Ok(spans)
}

/// Decides every row of every batch of `reader`.
fn decide_reader(
    py: Python<'_>,
    policy: &gatehouse::Policy,
    reader: Box<dyn arrow_array::RecordBatchReader + Send>,
    column: Option<&str>,
    options: &EvalOptions,
    digest: bool,
) -> PyResult<PyTable> {
    let schema = schema(digest);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for batch in reader {
        let batch = batch.map_err(arrow_error)?;
        let source = source_of(&batch, column)?;
        let rows = batch.num_rows();
        let mut start = 0;
        while start < rows {
            let end = (start + SLICE_ROWS).min(rows);
            match &source {
                Source::Text(array) => {
                    let texts = text_rows(array, start, end);
                    py.detach(|| decide_slice(policy, &texts, options, digest, &schema, &mut out))?;
                }
                Source::Struct(array) => {
                    let spans = struct_rows(array, start, end, &mut buf)?;
                    let texts: Vec<Option<&str>> = spans
                        .iter()
                        .map(|span| {
                            // arrow-json writes UTF-8; text that were not
                            // would be an invalid row (null), never a guess.
                            span.and_then(|(a, b)| std::str::from_utf8(buf.get(a..b)?).ok())
                        })
                        .collect();
                    py.detach(|| decide_slice(policy, &texts, options, digest, &schema, &mut out))?;
                }
            }
            start = end;
        }
    }
    PyTable::try_new(out, schema)
}

/// The reader for what the caller passed: a table, record batch or stream,
/// or a bare array / chunked array of JSON text (the column itself).
/// Returns the reader and the column to read (`None`: the whole row).
pub(crate) fn reader_of(
    data: &Bound<'_, PyAny>,
    column: Option<&str>,
) -> PyResult<(
    Box<dyn arrow_array::RecordBatchReader + Send>,
    Option<String>,
)> {
    let has = |name: &str| data.hasattr(name).unwrap_or(false);
    if !has("__arrow_c_stream__") && !has("__arrow_c_array__") {
        return Err(PyTypeError::new_err(format!(
            "expected Arrow data (a pyarrow Table / RecordBatch / RecordBatchReader / Array, a polars DataFrame, or anything with __arrow_c_stream__ or __arrow_c_array__), got {}",
            data.get_type().name()?
        )));
    }
    if let Ok(batches) = data.extract::<AnyRecordBatch>()
        && let Ok(reader) = batches.into_reader()
    {
        return Ok((reader, column.map(str::to_owned)));
    }
    // Not a table: an array (or chunked array) of JSON text is the column.
    let array = data.extract::<AnyArray>()?;
    let reader = array.into_reader()?;
    let field = reader.field();
    // A bare array is its own column, whatever `column` says.
    let name = column.unwrap_or("action").to_owned();
    let schema = Arc::new(Schema::new(vec![Field::new(
        &name,
        field.data_type().clone(),
        true,
    )]));
    let batches: Vec<Result<RecordBatch, arrow_schema::ArrowError>> = reader
        .map(|a| a.and_then(|a| RecordBatch::try_new(schema.clone(), vec![a])))
        .collect();
    Ok((
        Box::new(arrow_array::RecordBatchIterator::new(batches, schema)),
        Some(name),
    ))
}

/// `gatehouse.arrow.evaluate` / `Policy.evaluate_arrow`.
pub(crate) fn evaluate<'py>(
    py: Python<'py>,
    policy: &Policy,
    data: &Bound<'py, PyAny>,
    column: Option<&str>,
    now: Option<&Bound<'py, PyAny>>,
    strict: bool,
    digest: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let options = EvalOptions::default()
        .with_now(crate::policy::parse_now(now)?)
        .with_strict(strict);
    let (reader, column) = reader_of(data, column)?;
    let table = decide_reader(
        py,
        &policy.inner,
        reader,
        column.as_deref(),
        &options,
        digest,
    )?;
    table.into_pyarrow(py)
}

/// `gatehouse._native.evaluate_arrow(policy, data, column, now, strict, digest)`.
#[pyfunction]
#[pyo3(
    signature = (policy, data, *, column = Some("action".to_owned()), now = None, strict = false, digest = false),
    text_signature = "(policy, data, *, column='action', now=None, strict=False, digest=False)"
)]
pub(crate) fn evaluate_arrow<'py>(
    py: Python<'py>,
    policy: &Policy,
    data: &Bound<'py, PyAny>,
    column: Option<String>,
    now: Option<&Bound<'py, PyAny>>,
    strict: bool,
    digest: bool,
) -> PyResult<Bound<'py, PyAny>> {
    evaluate(py, policy, data, column.as_deref(), now, strict, digest)
}
