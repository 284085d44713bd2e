//! `gatehouse eval --jsonl`: one JSON action per line in, one decision per
//! line out, in input order, decided in parallel.
//!
//! A pipeline on a persistent pool (issue 19): the calling thread reads
//! lines into jobs (a few hundred lines each) and hands them to one worker
//! thread per core, each with its own reused [`gatehouse::JsonDecider`];
//! while the workers decide, it reads the next jobs and writes the
//! finished ones, in input order, as whole buffers. At most
//! `JOBS_PER_WORKER` jobs per worker are out at once, which bounds memory.
//!
//! Interactive producers: a job ends as soon as no further line is
//! already buffered, and before a read that may wait for the producer
//! (any source but a regular file) every job out is finished, written and
//! flushed, so a producer that writes one line and waits for its answer
//! gets it at once. A regular file never waits, so it is read ahead while
//! the workers decide.
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

use std::collections::VecDeque;
use std::io::{BufReader, Write};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};

use super::eval::{Audit, EvalArgs, code_for, write_decision};
use super::shadow::Shadow;
use super::{Io, exit};
use crate::Policy;
use crate::audit::impact::read_line;
use crate::eval::{Decision, EvalOptions, InputError, Outcome};
use crate::input::{self, Syntax};

/// A job ends at this many lines: large enough that handing it to a
/// worker costs little next to deciding it, small enough that both cores
/// get work from a short file.
const JOB_LINES: usize = 512;
/// A job stops growing past this many bytes of input.
const JOB_BYTES: usize = 1 << 20;
/// Jobs out (queued, being decided, or decided and not yet written) per
/// worker: bounds memory (with an audit log, each line keeps its document)
/// while keeping every worker fed.
const JOBS_PER_WORKER: usize = 4;
/// Read buffer: large, so that a fast producer fills jobs.
const READ_BUFFER: usize = 1 << 20;

/// One line of a job: where it is in the job's input, its number in the
/// input, and whether it was over the input limit (then not kept).
#[derive(Clone, Copy)]
struct RawLine {
    start: usize,
    end: usize,
    number: usize,
    too_long: bool,
}

/// A decided line: where its output ends in the job's output, and what
/// the exit code and the audit log need.
struct Done {
    end: usize,
    invalid: bool,
    outcome: Outcome,
    /// The decision and the input document, kept only for the audit log.
    audit: Option<(Decision, Option<serde_json::Value>)>,
}

/// A run of lines, decided by one worker; its buffers are reused.
#[derive(Default)]
struct Job {
    /// Its number in the input order (set when it is handed out).
    seq: usize,
    input: Vec<u8>,
    lines: Vec<RawLine>,
    out: Vec<u8>,
    done: Vec<Done>,
    /// Set when a decision could not be serialized.
    failed: bool,
}

impl Job {
    fn clear(&mut self) {
        self.input.clear();
        self.lines.clear();
        self.out.clear();
        self.done.clear();
        self.failed = false;
    }
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
                // A regular file never makes a read wait for a producer.
                !file.metadata().is_ok_and(|m| m.is_file()),
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
            true,
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

/// Reads `source` into jobs, has the pool decide them, writes them in
/// order. `may_wait`: a read may block until the producer writes more
/// (see the module documentation).
fn run_from(
    args: &EvalArgs,
    decider: &Source<'_>,
    may_wait: bool,
    source: &mut dyn std::io::Read,
    audit: &mut Option<Audit>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let context = Context {
        args,
        policy: decider.policy,
        shadow: decider.shadow,
        options: decider.options,
        keep_for_audit: audit.is_some(),
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(16));
    let (to_workers, jobs) = std::sync::mpsc::channel::<Job>();
    let (to_writer, finished) = std::sync::mpsc::channel::<Job>();
    let jobs = Arc::new(Mutex::new(jobs));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (context, jobs, to_writer) = (&context, Arc::clone(&jobs), to_writer.clone());
            scope.spawn(move || work(context, &jobs, &to_writer));
        }
        drop(to_writer);
        let mut pipeline = Pipeline {
            args,
            options: decider.options,
            to_workers,
            finished,
            free: (0..workers * JOBS_PER_WORKER)
                .map(|_| Job::default())
                .collect(),
            out: VecDeque::new(),
            front: 0,
            any_invalid: false,
            strictest: None,
        };
        // Returning drops the sender: the workers end.
        pipeline.run(decider, may_wait, source, audit, stdout, stderr)
    })
}

/// A worker: decides jobs until the channel closes.
fn work(context: &Context<'_>, jobs: &Mutex<Receiver<Job>>, to_writer: &Sender<Job>) {
    let mut decider = context.policy.json_decider(*context.options);
    loop {
        // The lock is held only while waiting for the next job.
        let next = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok(mut job) = next else { return };
        // A panic (a bug) fails the job, and so the run, instead of
        // leaving the writer waiting for it.
        let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            decide_job(context, &mut decider, &mut job);
        }));
        if decided.is_err() {
            job.failed = true;
            decider = context.policy.json_decider(*context.options);
        }
        if to_writer.send(job).is_err() {
            return;
        }
    }
}

/// The reading and writing side of the pipeline, on the calling thread.
struct Pipeline<'a> {
    args: &'a EvalArgs,
    options: &'a EvalOptions,
    to_workers: Sender<Job>,
    finished: Receiver<Job>,
    /// Jobs not out, ready to fill.
    free: Vec<Job>,
    /// Jobs out, in input order; `Some` once decided.
    out: VecDeque<Option<Job>>,
    /// The number of the job at the front of `out`.
    front: usize,
    any_invalid: bool,
    /// The strictest outcome so far: `Outcome` is ordered auto < .. < block.
    strictest: Option<Outcome>,
}

/// Why the pipeline stopped early: the exit code to return.
struct Stop(u8);

impl Pipeline<'_> {
    fn run(
        &mut self,
        decider: &Source<'_>,
        may_wait: bool,
        source: &mut dyn std::io::Read,
        audit: &mut Option<Audit>,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> u8 {
        let mut reader = BufReader::with_capacity(READ_BUFFER, source);
        let mut number = 0;
        loop {
            // Before a read that may wait for the producer, everything out
            // is answered and flushed.
            if may_wait
                && reader.buffer().is_empty()
                && let Err(Stop(code)) = self.drain(audit, stdout, stderr)
            {
                return code;
            }
            let mut job = match self.free.pop() {
                Some(job) => job,
                None => match self.write_next(true, audit, stdout, stderr) {
                    Ok(()) => continue,
                    Err(Stop(code)) => return code,
                },
            };
            job.clear();
            let read = read_job(&mut reader, &mut job, &mut number, may_wait);
            if !job.lines.is_empty() && read.is_ok() {
                job.seq = self.front + self.out.len();
                self.out.push_back(None);
                if self.to_workers.send(job).is_err() {
                    let _ = writeln!(stderr, "error: a worker stopped");
                    return exit::INTERNAL;
                }
            } else {
                self.free.push(job);
            }
            match read {
                Ok(false) => {}
                Ok(true) => break,
                Err(e) => {
                    if let Err(Stop(code)) = self.drain(audit, stdout, stderr) {
                        return code;
                    }
                    let name = match &self.args.input {
                        Some(p) => super::source_name(p),
                        None => super::STDIN_NAME.to_owned(),
                    };
                    let message = format!("cannot read `{name}` after line {number}: {e}");
                    return unreadable_source(self.args, decider, audit, stdout, stderr, message);
                }
            }
            // Write what is already decided, without waiting.
            loop {
                match self.write_next(false, audit, stdout, stderr) {
                    Ok(()) if self.out.front().is_some_and(Option::is_some) => {}
                    Ok(()) => break,
                    Err(Stop(code)) => return code,
                }
            }
        }
        if let Err(Stop(code)) = self.drain(audit, stdout, stderr) {
            return code;
        }
        if self.any_invalid {
            return exit::INPUT;
        }
        match (self.strictest, self.args.exit_code) {
            (Some(outcome), true) => exit::OUTCOME_BASE + outcome as u8,
            _ => exit::OK,
        }
    }

    /// Writes every job out, in order, and flushes.
    fn drain(
        &mut self,
        audit: &mut Option<Audit>,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), Stop> {
        while !self.out.is_empty() {
            self.write_next(true, audit, stdout, stderr)?;
        }
        flush(stdout, stderr)
    }

    /// Takes in the finished jobs, then writes the oldest job out when it
    /// is decided (waiting for it when `wait`, flushing first).
    fn write_next(
        &mut self,
        wait: bool,
        audit: &mut Option<Audit>,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), Stop> {
        loop {
            match self.finished.try_recv() {
                Ok(job) => self.place(job),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = writeln!(stderr, "error: a worker stopped");
                    return Err(Stop(exit::INTERNAL));
                }
            }
        }
        while wait && self.out.front().is_some_and(Option::is_none) {
            // About to wait: what was written reaches the reader first.
            flush(stdout, stderr)?;
            match self.finished.recv() {
                Ok(job) => self.place(job),
                Err(_) => {
                    let _ = writeln!(stderr, "error: a worker stopped");
                    return Err(Stop(exit::INTERNAL));
                }
            }
        }
        if !self.out.front().is_some_and(Option::is_some) {
            return Ok(());
        }
        let Some(Some(mut job)) = self.out.pop_front() else {
            return Ok(());
        };
        self.front += 1;
        let result = self.write_job(&mut job, audit, stdout, stderr);
        self.free.push(job);
        result
    }

    /// Puts a finished job in its place in `out`, by its number.
    fn place(&mut self, job: Job) {
        if let Some(slot) = job
            .seq
            .checked_sub(self.front)
            .and_then(|i| self.out.get_mut(i))
        {
            *slot = Some(job);
        }
    }

    /// Records (audit log) and writes one decided job.
    fn write_job(
        &mut self,
        job: &mut Job,
        audit: &mut Option<Audit>,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), Stop> {
        let mut written = 0;
        for done in &mut job.done {
            if let (Some(audit), Some((decision, doc))) = (audit.as_mut(), done.audit.take())
                && let Err(code) = audit.record(&decision, doc.as_ref(), self.options, stderr)
            {
                // The lines before this one were recorded: print them.
                let _ = stdout.write_all(job.out.get(..written).unwrap_or(&[]));
                let _ = stdout.flush();
                return Err(Stop(code));
            }
            written = done.end;
            self.any_invalid |= done.invalid;
            self.strictest = self.strictest.max(Some(done.outcome));
        }
        if job.failed || stdout.write_all(&job.out).is_err() {
            let _ = writeln!(stderr, "error: cannot write the output");
            return Err(Stop(exit::INTERNAL));
        }
        Ok(())
    }
}

fn flush(stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<(), Stop> {
    if stdout.flush().is_err() {
        let _ = writeln!(stderr, "error: cannot write the output");
        return Err(Stop(exit::INTERNAL));
    }
    Ok(())
}

/// Reads lines into the job until its limits, the end of the input, or
/// (when reads may wait) until no further line is already buffered.
/// Returns whether the input ended.
fn read_job(
    reader: &mut BufReader<&mut dyn std::io::Read>,
    job: &mut Job,
    number: &mut usize,
    may_wait: bool,
) -> std::io::Result<bool> {
    loop {
        let start = job.input.len();
        // A line over the input limit is skipped without being held in
        // memory, and answered like any other invalid input.
        let (read, too_long) = read_line(reader, &mut job.input)?;
        if read == 0 {
            return Ok(true);
        }
        *number += 1;
        job.lines.push(RawLine {
            start,
            end: job.input.len(),
            number: *number,
            too_long,
        });
        if job.lines.len() >= JOB_LINES
            || job.input.len() >= JOB_BYTES
            || (may_wait && reader.buffer().is_empty())
        {
            return Ok(false);
        }
    }
}

/// Decides a job's lines into its output.
fn decide_job(context: &Context<'_>, decider: &mut gatehouse::JsonDecider<'_>, job: &mut Job) {
    // Without an audit log (which keeps each document), `--explain`
    // (which prints the owned decision) and `--shadow` (which decides the
    // document twice), a valid line never builds a tree.
    let fast = !context.keep_for_audit && !context.args.explain && context.shadow.is_none();
    let Job {
        input,
        lines,
        out,
        done,
        failed,
        ..
    } = job;
    for line in lines.iter() {
        let bytes = input.get(line.start..line.end).unwrap_or(&[]);
        let written = match read_line_text(context, bytes, line) {
            Read::Refused(decision) => write_owned(context, out, done, *decision, None),
            Read::Text(text) if fast => match decider.try_write_json(text, out) {
                Some(outcome) => {
                    out.push(b'\n');
                    done.push(Done {
                        end: out.len(),
                        invalid: false,
                        outcome,
                        audit: None,
                    });
                    Ok(())
                }
                // Not a valid input: the owned path words the refusal.
                None => decide_text(context, text, line.number, out, done),
            },
            Read::Text(text) => decide_text(context, text, line.number, out, done),
        };
        if written.is_err() {
            *failed = true;
            return;
        }
    }
}

/// Decides one line of JSON text into the job's output through the owned
/// decision (kept, with its document, for the audit log).
fn decide_text(
    context: &Context<'_>,
    text: &str,
    number: usize,
    out: &mut Vec<u8>,
    done: &mut Vec<Done>,
) -> Result<(), ()> {
    let policy = context.policy;
    let doc = match input::parse(text, Syntax::Json) {
        Ok(doc) => doc,
        Err(errors) => {
            let errors = errors
                .into_iter()
                .map(|e| InputError::new(e.path, format!("line {number}: {}", e.message)))
                .collect();
            return write_owned(context, out, done, policy.invalid_input(errors), None);
        }
    };
    let decision = policy.evaluate_with(&doc, context.options);
    write_owned(context, out, done, decision, Some(doc))
}

/// Writes an owned decision into the job's output, keeping it (and the
/// document) for the audit log when there is one.
fn write_owned(
    context: &Context<'_>,
    out: &mut Vec<u8>,
    done: &mut Vec<Done>,
    decision: Decision,
    doc: Option<serde_json::Value>,
) -> Result<(), ()> {
    let shadow = context
        .shadow
        .map(|s| s.decide(doc.as_ref(), &decision, context.options));
    write_decision(context.args, out, &decision, shadow.as_ref(), false).map_err(|_| ())?;
    done.push(Done {
        end: out.len(),
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
