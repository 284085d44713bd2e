//! `gatehouse eval --jsonl`: one JSON action per line in, one decision per
//! line out, in input order, decided in parallel.
//!
//! The input is read in batches: a batch ends at the batch limits or as soon
//! as no further line is already buffered, so a producer that writes one
//! line and waits for its answer gets it at once (each batch is flushed),
//! while a file or a fast pipe is decided in large batches. A batch is split
//! into contiguous runs of lines, one per core; each worker writes its
//! decisions' JSON into its own reused buffer, and the buffers are written
//! out in order, so the output order is the input order whatever the
//! scheduling.
//!
//! Invariant: every input line gets exactly one decision, so output line N
//! answers input line N (without `--explain`, whose account spans several
//! lines). A blank line is not skipped: it is refused as `INVALID_INPUT`
//! (outcome `block`), like any other line that is not an action, so a
//! consumer pairing answers with its lines by position never drifts.
//!
//! Exit code: 3 when any line was invalid (as for a single input); else,
//! with `--exit-code`, 10 + the strictest outcome of the whole stream (a
//! `block` anywhere is never hidden by a later `auto`); else 0.

use std::io::{BufReader, Write};

use super::eval::{Audit, EvalArgs, code_for, write_decision};
use super::shadow::Shadow;
use super::{Io, exit};
use crate::Policy;
use crate::audit::digest_text::{DigestScratch, push_action_digest_text};
use crate::audit::impact::read_line;
use crate::eval::{Decision, EvalOptions, InputError, Outcome};
use crate::input::{self, Syntax};

/// At most this many lines per batch: bounds the memory held for decisions
/// not yet written (with an audit log, each keeps its input document).
const MAX_BATCH_LINES: usize = 16_384;
/// A batch stops growing past this many bytes of input.
const MAX_BATCH_BYTES: usize = 16 << 20;
/// Lines per worker below which a batch is not split further: spawning a
/// thread costs about as much as deciding a few dozen lines.
const MIN_LINES_PER_WORKER: usize = 256;
/// Read buffer: large, so that a fast producer fills batches.
const READ_BUFFER: usize = 1 << 20;

/// One line of the batch: where it is in the batch buffer, its number in
/// the input, and whether it was over the input limit (then not kept).
#[derive(Clone, Copy)]
struct RawLine {
    start: usize,
    end: usize,
    number: usize,
    too_long: bool,
}

/// A decided line: where its output ends in the worker's buffer, and what
/// the exit code and the audit log need.
struct Done {
    end: usize,
    invalid: bool,
    outcome: Outcome,
    /// The decision and the input document, kept only for the audit log.
    audit: Option<(Decision, Option<serde_json::Value>)>,
}

/// One worker's output for its run of lines; reused from batch to batch.
#[derive(Default)]
struct Chunk {
    out: Vec<u8>,
    done: Vec<Done>,
    /// Set when a decision could not be serialized.
    failed: bool,
}

/// What every worker shares.
struct Context<'a> {
    args: &'a EvalArgs,
    policy: &'a Policy,
    /// `--shadow`: decided beside `policy` for every line, reported only.
    shadow: Option<&'a Shadow>,
    options: &'a EvalOptions,
    keep_for_audit: bool,
}

/// Runs the JSON-lines mode over `source`: the input file, or stdin.
pub(super) fn run(
    args: &EvalArgs,
    policy: &Policy,
    shadow: Option<&Shadow>,
    options: &EvalOptions,
    audit: &mut Option<Audit>,
    io: &mut Io<'_>,
) -> u8 {
    match &args.input {
        Some(path) if path.as_os_str() != "-" => match std::fs::File::open(path) {
            Ok(mut file) => run_from(
                args,
                &Source {
                    policy,
                    shadow,
                    options,
                },
                &mut file,
                audit,
                io.stdout,
                io.stderr,
            ),
            Err(e) => {
                let message = format!("cannot read `{}`: {e}", path.display());
                let source = Source {
                    policy,
                    shadow,
                    options,
                };
                unreadable_source(args, &source, audit, io.stdout, io.stderr, message)
            }
        },
        _ => run_from(
            args,
            &Source {
                policy,
                shadow,
                options,
            },
            io.stdin,
            audit,
            io.stdout,
            io.stderr,
        ),
    }
}

/// A source that cannot be read (not opened, or failing mid-stream) is
/// answered as a line that cannot be read: one `block`/INVALID_INPUT
/// decision naming the source and the error (recorded in the audit log
/// first, when there is one), and exit code 3.
fn unreadable_source(
    args: &EvalArgs,
    source: &Source<'_>,
    audit: &mut Option<Audit>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
    message: String,
) -> u8 {
    let _ = writeln!(stderr, "error: {message}");
    let decision = super::eval::unreadable(source.policy, message);
    if let Some(audit) = audit.as_mut()
        && let Err(code) = audit.record(&decision, None, source.options, stderr)
    {
        return code;
    }
    let shadow = source
        .shadow
        .map(|s| s.decide(None, &decision, source.options));
    if write_decision(args, stdout, &decision, shadow.as_ref(), false)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        let _ = writeln!(stderr, "error: cannot write the output");
        return exit::INTERNAL;
    }
    exit::INPUT
}

/// What decides the lines of a run: the policy, the `--shadow`
/// candidate, the options.
struct Source<'a> {
    policy: &'a Policy,
    shadow: Option<&'a Shadow>,
    options: &'a EvalOptions,
}

fn run_from(
    args: &EvalArgs,
    decider: &Source<'_>,
    source: &mut dyn std::io::Read,
    audit: &mut Option<Audit>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let options = decider.options;
    let context = Context {
        args,
        policy: decider.policy,
        shadow: decider.shadow,
        options,
        keep_for_audit: audit.is_some(),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get().min(16));
    let mut reader = BufReader::with_capacity(READ_BUFFER, source);
    let mut batch: Vec<u8> = Vec::new();
    let mut lines: Vec<RawLine> = Vec::new();
    let mut chunks: Vec<Chunk> = (0..cores).map(|_| Chunk::default()).collect();
    let mut number = 0;
    let mut any_invalid = false;
    // The strictest outcome so far: `Outcome` is ordered auto < .. < block.
    let mut strictest: Option<Outcome> = None;
    loop {
        let end_of_input = match read_batch(&mut reader, &mut batch, &mut lines, &mut number) {
            Ok(eoi) => eoi,
            Err(e) => {
                let name = match &args.input {
                    Some(p) => super::source_name(p),
                    None => super::STDIN_NAME.to_owned(),
                };
                let message = format!("cannot read `{name}` after line {number}: {e}");
                return unreadable_source(args, decider, audit, stdout, stderr, message);
            }
        };
        let workers = lines.len().div_ceil(MIN_LINES_PER_WORKER).clamp(1, cores);
        decide_batch(&context, &batch, &lines, &mut chunks, workers);
        for chunk in chunks.iter_mut().take(workers) {
            let mut written = 0;
            for done in &mut chunk.done {
                if let (Some(audit), Some((decision, doc))) = (audit.as_mut(), done.audit.take())
                    && let Err(code) = audit.record(&decision, doc.as_ref(), options, stderr)
                {
                    // The lines before this one were recorded: print them.
                    let _ = stdout.write_all(chunk.out.get(..written).unwrap_or(&[]));
                    let _ = stdout.flush();
                    return code;
                }
                written = done.end;
                any_invalid |= done.invalid;
                strictest = strictest.max(Some(done.outcome));
            }
            if chunk.failed || stdout.write_all(&chunk.out).is_err() {
                let _ = writeln!(stderr, "error: cannot write the output");
                return exit::INTERNAL;
            }
        }
        if stdout.flush().is_err() {
            let _ = writeln!(stderr, "error: cannot write the output");
            return exit::INTERNAL;
        }
        if end_of_input {
            break;
        }
    }
    if any_invalid {
        return exit::INPUT;
    }
    match (strictest, args.exit_code) {
        (Some(outcome), true) => exit::OUTCOME_BASE + outcome as u8,
        _ => exit::OK,
    }
}

/// Reads lines into `batch` until a limit, the end of the input, or until
/// no further line is already buffered. Returns whether the input ended.
fn read_batch(
    reader: &mut BufReader<&mut dyn std::io::Read>,
    batch: &mut Vec<u8>,
    lines: &mut Vec<RawLine>,
    number: &mut usize,
) -> std::io::Result<bool> {
    batch.clear();
    lines.clear();
    loop {
        let start = batch.len();
        // A line over the input limit is skipped without being held in
        // memory, and answered like any other invalid input.
        let (read, too_long) = read_line(reader, batch)?;
        if read == 0 {
            return Ok(true);
        }
        *number += 1;
        lines.push(RawLine {
            start,
            end: batch.len(),
            number: *number,
            too_long,
        });
        if lines.len() >= MAX_BATCH_LINES
            || batch.len() >= MAX_BATCH_BYTES
            || reader.buffer().is_empty()
        {
            return Ok(false);
        }
    }
}

/// Decides the batch's lines on `workers` threads (the calling one among
/// them), each into its own chunk, in contiguous runs.
fn decide_batch(
    context: &Context<'_>,
    batch: &[u8],
    lines: &[RawLine],
    chunks: &mut [Chunk],
    workers: usize,
) {
    // Chunks past the runs hold nothing this batch.
    for chunk in chunks.iter_mut() {
        chunk.out.clear();
        chunk.done.clear();
        chunk.failed = false;
    }
    let per_worker = lines.len().div_ceil(workers.max(1)).max(1);
    let mut runs = lines.chunks(per_worker).zip(chunks.iter_mut());
    let Some((first_run, first_chunk)) = runs.next() else {
        return;
    };
    std::thread::scope(|scope| {
        for (run, chunk) in runs {
            scope.spawn(move || decide_run(context, batch, run, chunk));
        }
        decide_run(context, batch, first_run, first_chunk);
    });
}

/// Decides a run of lines into one chunk.
fn decide_run(context: &Context<'_>, batch: &[u8], run: &[RawLine], chunk: &mut Chunk) {
    let mut worker = Worker {
        verdict: context.policy.verdict(),
        scratch: DigestScratch::new(),
        digest: String::new(),
    };
    // Without an audit log (which keeps each document), `--explain`
    // (which prints the owned decision) and `--shadow` (which decides the
    // document twice), a valid line never builds a tree.
    let fast = !context.keep_for_audit && !context.args.explain && context.shadow.is_none();
    for line in run {
        let bytes = batch.get(line.start..line.end).unwrap_or(&[]);
        let written = match read_line_text(context, bytes, line) {
            Read::Refused(decision) => write_owned(context, chunk, *decision, None),
            Read::Text(text) if fast => match decide_fast(context, text, &mut worker, chunk) {
                Ok(false) => decide_text(context, text, line.number, chunk),
                other => other.map(|_| ()),
            },
            Read::Text(text) => decide_text(context, text, line.number, chunk),
        };
        if written.is_err() {
            chunk.failed = true;
            return;
        }
    }
}

/// Decides one line of JSON text into the chunk through the owned
/// decision (kept, with its document, for the audit log).
fn decide_text(
    context: &Context<'_>,
    text: &str,
    number: usize,
    chunk: &mut Chunk,
) -> Result<(), ()> {
    let policy = context.policy;
    let doc = match input::parse(text, Syntax::Json) {
        Ok(doc) => doc,
        Err(errors) => {
            let errors = errors
                .into_iter()
                .map(|e| InputError::new(e.path, format!("line {number}: {}", e.message)))
                .collect();
            return write_owned(context, chunk, policy.invalid_input(errors), None);
        }
    };
    let decision = policy.evaluate_with(&doc, context.options);
    write_owned(context, chunk, decision, Some(doc))
}

/// The fast path of a line: JSON text straight into slots, the reused
/// verdict, the digest from the text, the decision's JSON written straight
/// from the verdict. `false` (nothing written) when the line is not a valid
/// input: the owned path then gives the exact refusal.
fn decide_fast(
    context: &Context<'_>,
    text: &str,
    worker: &mut Worker<'_>,
    chunk: &mut Chunk,
) -> Result<bool, ()> {
    let Ok(input) = context.policy.decode_json_with(text, context.options) else {
        return Ok(false);
    };
    let verdict = &mut worker.verdict;
    verdict.decide(&input);
    // decode_json accepted the text, so the reader does: the condition
    // under which the text digest equals the document's.
    worker.digest.clear();
    push_action_digest_text(text, &mut worker.scratch, &mut worker.digest);
    verdict
        .write_json(
            &input,
            context.options,
            Some(&worker.digest),
            &mut chunk.out,
        )
        .map_err(|_| ())?;
    chunk.out.push(b'\n');
    chunk.done.push(Done {
        end: chunk.out.len(),
        invalid: false,
        outcome: verdict.outcome(),
        audit: None,
    });
    Ok(true)
}

/// What one worker reuses from line to line.
struct Worker<'p> {
    verdict: crate::Verdict<'p>,
    scratch: DigestScratch,
    digest: String,
}

/// Writes an owned decision into the chunk, keeping it (and the document)
/// for the audit log when there is one.
fn write_owned(
    context: &Context<'_>,
    chunk: &mut Chunk,
    decision: Decision,
    doc: Option<serde_json::Value>,
) -> Result<(), ()> {
    let shadow = context
        .shadow
        .map(|s| s.decide(doc.as_ref(), &decision, context.options));
    write_decision(
        context.args,
        &mut chunk.out,
        &decision,
        shadow.as_ref(),
        false,
    )
    .map_err(|_| ())?;
    chunk.done.push(Done {
        end: chunk.out.len(),
        invalid: code_for(context.args, &decision) == exit::INPUT,
        outcome: decision.outcome,
        audit: context.keep_for_audit.then_some((decision, doc)),
    });
    Ok(())
}

/// A line, read: refused before parsing, or text.
enum Read<'a> {
    Refused(Box<Decision>),
    Text(&'a str),
}

/// The line's text, or its refusal when it is over the input limit or not
/// UTF-8 or is blank (a blank line is answered, never skipped: see the
/// module documentation).
fn read_line_text<'a>(context: &Context<'_>, bytes: &'a [u8], line: &RawLine) -> Read<'a> {
    let number = line.number;
    let refused = |message: String| {
        Read::Refused(Box::new(
            context
                .policy
                .invalid_input(vec![InputError::new("$", message)]),
        ))
    };
    if line.too_long {
        return refused(format!(
            "line {number}: input is more than {} bytes",
            input::MAX_INPUT_BYTES
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if text.trim().is_empty() => refused(format!(
            "line {number}: the line is blank (expected one JSON action per line)"
        )),
        Ok(text) => Read::Text(text),
        Err(e) => refused(format!(
            "line {number}: not UTF-8 text (invalid byte at {})",
            e.valid_up_to()
        )),
    }
}
