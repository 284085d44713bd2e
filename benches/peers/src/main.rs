//! gatehouse against its peers: the same approval matrix in gatehouse, Cedar,
//! Rego (regorus: RVM bytecode VM and interpreter) and hand-written Rust.
//!
//! 1. Generates a deterministic corpus of inputs (fixed-seed LCG).
//! 2. Compiles the matrix in every engine at three sizes (15 rules, and with
//!    1 000 or 10 000 extra `sys:<k>` rules).
//! 3. Checks that every engine, by every input path, gives the same outcome
//!    and reason set on every input at every size; on any disagreement it
//!    prints the input and each engine's answer and exits 1.
//! 4. Times each engine (median of several passes), its compile time, and
//!    its peak memory (in a child process per engine and size).
//! 5. Prints one Markdown table and writes it to `results.md`.
//!
//! `benches/peers/run.sh [--quick]` runs it; see README.md beside it.

mod cedar;
mod corpus;
mod gate;
mod measure;
mod native;
mod rego;
mod verdict;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use measure::{Figure, Plan};
use verdict::{LEVELS, SIZES, Size, Verdict};

#[global_allocator]
static ALLOC: measure::Counting = measure::Counting;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Engine {
    Gatehouse,
    GatehouseOwned,
    GatehouseDocument,
    CedarJsonValue,
    CedarPairs,
    RegorusVm,
    RegorusInterpreter,
    Native,
}

const ENGINES: [Engine; 8] = [
    Engine::Gatehouse,
    Engine::GatehouseOwned,
    Engine::GatehouseDocument,
    Engine::CedarJsonValue,
    Engine::CedarPairs,
    Engine::RegorusVm,
    Engine::RegorusInterpreter,
    Engine::Native,
];

impl Engine {
    fn label(self) -> &'static str {
        match self {
            Engine::Gatehouse => "gatehouse, `Verdict` (decoded `Input` / `decode_json`)",
            Engine::GatehouseOwned => "gatehouse, owned `Decision` + action digest",
            Engine::GatehouseDocument => "gatehouse, decision JSON + action digest (`JsonDecider`)",
            Engine::CedarJsonValue => "Cedar, `Context::from_json_value`",
            Engine::CedarPairs => "Cedar, `Context::from_pairs`",
            Engine::RegorusVm => "Rego (regorus RVM bytecode VM)",
            Engine::RegorusInterpreter => "Rego (regorus interpreter)",
            Engine::Native => "hand-written Rust, typed struct",
        }
    }
    fn key(self) -> &'static str {
        match self {
            Engine::Gatehouse => "gatehouse",
            Engine::GatehouseOwned => "gatehouse-owned",
            Engine::GatehouseDocument => "gatehouse-document",
            Engine::CedarJsonValue => "cedar-json-value",
            Engine::CedarPairs => "cedar-pairs",
            Engine::RegorusVm => "regorus-vm",
            Engine::RegorusInterpreter => "regorus-interpreter",
            Engine::Native => "native",
        }
    }
    fn from_key(key: &str) -> Option<Engine> {
        ENGINES.into_iter().find(|e| e.key() == key)
    }
}

struct Options {
    quick: bool,
    inputs: usize,
    sizes: Vec<Size>,
    memory: bool,
    output: Option<std::path::PathBuf>,
    /// Workers for the agreement check (timing is single-threaded).
    threads: usize,
}

fn usage() -> &'static str {
    "usage: gatehouse-peers [--quick] [--inputs N] [--sizes 15,1015,10015] [--no-memory] [--threads N] [--output FILE | --no-write]"
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        inputs: 0,
        sizes: SIZES.to_vec(),
        memory: true,
        threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        output: Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("results.md")),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--no-memory" => o.memory = false,
            "--no-write" => o.output = None,
            "--threads" => {
                o.threads = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--threads needs a positive number")?
            }
            "--output" => o.output = Some(it.next().ok_or("--output needs a path")?.into()),
            "--inputs" => {
                o.inputs = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--inputs needs a positive number")?
            }
            "--sizes" => {
                let list = it.next().ok_or("--sizes needs a list")?;
                o.sizes = list
                    .split(',')
                    .map(|s| {
                        s.trim()
                            .parse::<usize>()
                            .ok()
                            .and_then(|r| SIZES.iter().copied().find(|z| z.rules() == r))
                            .ok_or(format!("unknown size {s}: 15, 1015 or 10015"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "-h" | "--help" => return Err(usage().into()),
            other => return Err(format!("unknown argument {other}\n{}", usage())),
        }
    }
    if o.inputs == 0 {
        o.inputs = if o.quick { 1_000 } else { 10_000 };
    }
    Ok(o)
}

/// The corpus in every form the engines take.
struct Corpus {
    values: Vec<serde_json::Value>,
    texts: Vec<String>,
    typed: Vec<native::Input>,
    rego: Vec<regorus::Value>,
}

impl Corpus {
    fn new(n: usize) -> Corpus {
        let (values, texts) = corpus::generate(n);
        let typed = texts
            .iter()
            .map(|t| serde_json::from_str(t).expect("a corpus input fits the typed struct"))
            .collect();
        let rego = texts
            .iter()
            .map(|t| regorus::Value::from_json_str(t).expect("regorus reads a corpus input"))
            .collect();
        Corpus {
            values,
            texts,
            typed,
            rego,
        }
    }
    fn len(&self) -> usize {
        self.values.len()
    }
}

/// Every engine compiled for one size.
struct Compiled {
    size: Size,
    gate: gatehouse::Policy,
    cedar: cedar::Cedar,
    /// Err when the RVM cannot compile the policy.
    vm: Result<regorus::rvm::vm::RegoVM, String>,
    interpreter: regorus::Engine,
}

impl Compiled {
    fn new(size: Size) -> Compiled {
        Compiled {
            size,
            gate: gate::compile(size),
            cedar: cedar::Cedar::compile(size),
            vm: rego::vm(size),
            interpreter: rego::interpreter(size),
        }
    }
}

// ------------------------------------------------------------ agreement --

/// One path through one engine, checked against all the others.
const PATHS: [&str; 12] = [
    "gatehouse evaluate(&Value)",
    "gatehouse evaluate_json(&str)",
    "Cedar Context::from_json_value",
    "Cedar Context::from_json_str",
    "Cedar Context::from_pairs",
    "regorus RVM",
    "regorus interpreter",
    "Rust typed struct",
    "Rust from JSON text",
    "gatehouse Verdict, decoded Input",
    "gatehouse Verdict, decode_json",
    "gatehouse JsonDecider::write_json",
];

/// What the agreement run found: seconds spent in each path (summed over
/// workers), the outcome histogram, how often each reason was given.
#[derive(Default)]
struct Agreement {
    spent: [f64; PATHS.len()],
    outcomes: BTreeMap<u8, usize>,
    reasons: BTreeMap<String, usize>,
}

/// The engines one worker uses: shared where they are `Sync`, its own
/// regorus engine and VM (which evaluate through `&mut`).
struct Worker<'a> {
    size: Size,
    gate: &'a gatehouse::Policy,
    cedar: &'a cedar::Cedar,
    vm: Option<&'a mut regorus::rvm::vm::RegoVM>,
    interpreter: &'a mut regorus::Engine,
}

/// Checks every path on the inputs `range`; on a disagreement returns the
/// input's index and the report.
fn agree_range(
    w: Worker<'_>,
    corpus: &Corpus,
    range: std::ops::Range<usize>,
    done: &AtomicUsize,
) -> Result<Agreement, (usize, String)> {
    let extra = w.size.extra as u32;
    let mut out = Agreement::default();
    let mut vm = w.vm;
    let mut verdict = w.gate.verdict();
    let mut decider = w.gate.json_decider(gatehouse::EvalOptions::default());
    let mut document = Vec::new();
    for i in range {
        let mut answers: Vec<(usize, Verdict)> = Vec::with_capacity(PATHS.len());
        let mut cedar_errors = 0;
        let spent = &mut out.spent;
        let mut timed = |k: usize, f: &mut dyn FnMut() -> Verdict| {
            let t = Instant::now();
            let v = f();
            spent[k] += t.elapsed().as_secs_f64();
            (k, v)
        };
        answers.push(timed(0, &mut || {
            gate::verdict(&w.gate.evaluate(&corpus.values[i]))
        }));
        answers.push(timed(1, &mut || {
            gate::verdict(&w.gate.evaluate_json(&corpus.texts[i]))
        }));
        answers.push(timed(2, &mut || {
            let a = w.cedar.decide_json_value(corpus.values[i].clone());
            cedar_errors += a.errors;
            cedar::verdict(&a)
        }));
        answers.push(timed(3, &mut || {
            let a = w.cedar.decide_json_str(&corpus.texts[i]);
            cedar_errors += a.errors;
            cedar::verdict(&a)
        }));
        answers.push(timed(4, &mut || {
            let a = w.cedar.decide_typed(&corpus.typed[i]);
            cedar_errors += a.errors;
            cedar::verdict(&a)
        }));
        if let Some(vm) = vm.as_deref_mut() {
            answers.push(timed(5, &mut || {
                rego::verdict(&rego::eval_vm(vm, corpus.rego[i].clone()))
            }));
        }
        answers.push(timed(6, &mut || {
            rego::verdict(&rego::eval_interpreter(
                w.interpreter,
                corpus.rego[i].clone(),
            ))
        }));
        answers.push(timed(7, &mut || {
            native::verdict(&native::decide(&corpus.typed[i], extra))
        }));
        answers.push(timed(8, &mut || {
            let typed: native::Input = serde_json::from_str(&corpus.texts[i]).expect("typed input");
            native::verdict(&native::decide(&typed, extra))
        }));
        let input = w
            .gate
            .decode(&corpus.values[i], &gatehouse::EvalOptions::default())
            .expect("the corpus fits the schema");
        answers.push(timed(9, &mut || gate::of_verdict(verdict.decide(&input))));
        answers.push(timed(10, &mut || {
            let input = w.gate.decode_json(&corpus.texts[i]).expect("valid JSON");
            gate::of_verdict(verdict.decide(&input))
        }));
        answers.push(timed(11, &mut || {
            document.clear();
            decider.write_json(&corpus.texts[i], &mut document);
            let d: gatehouse::Decision =
                serde_json::from_slice(&document).expect("the decision document reads back");
            gate::verdict(&d)
        }));
        let first = &answers[0].1;
        if cedar_errors > 0 || answers.iter().any(|(_, a)| a != first) {
            let mut msg = format!(
                "DISAGREEMENT on input #{i} with {} rules:\n  input: {}\n",
                w.size.rules(),
                corpus.texts[i]
            );
            for (k, a) in &answers {
                let mark = if a == first { " " } else { "!" };
                let _ = writeln!(msg, "  {mark} {:<32} {a}", PATHS[*k]);
            }
            if cedar_errors > 0 {
                let _ = writeln!(
                    msg,
                    "  Cedar reported {cedar_errors} policy evaluation errors (an erroring policy is skipped)"
                );
            }
            return Err((i, msg));
        }
        *out.outcomes.entry(first.outcome).or_insert(0) += 1;
        for r in &first.reasons {
            *out.reasons.entry(r.clone()).or_insert(0) += 1;
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(out)
}

/// Checks every path on every input, split over `threads` workers.
fn agree(c: &mut Compiled, corpus: &Corpus, threads: usize) -> Result<Agreement, String> {
    let n = corpus.len();
    let threads = threads.clamp(1, n.max(1));
    // Workers past the first get their own regorus engine and VM.
    let mut interpreters: Vec<regorus::Engine> =
        (1..threads).map(|_| c.interpreter.clone()).collect();
    let mut vms: Vec<Option<regorus::rvm::vm::RegoVM>> =
        (1..threads).map(|_| rego::vm(c.size).ok()).collect();
    let done = AtomicUsize::new(0);
    let started = Instant::now();
    let chunk = n.div_ceil(threads);
    let results: Vec<Result<Agreement, (usize, String)>> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        let mut own_interp = Some(&mut c.interpreter);
        let mut own_vm = Some(c.vm.as_mut().ok());
        let mut rest = interpreters.iter_mut().zip(vms.iter_mut());
        for t in 0..threads {
            let (interpreter, vm) = if t == 0 {
                (
                    own_interp.take().expect("once"),
                    own_vm.take().expect("once"),
                )
            } else {
                let (i, v) = rest.next().expect("one per worker");
                (i, v.as_mut())
            };
            let w = Worker {
                size: c.size,
                gate: &c.gate,
                cedar: &c.cedar,
                vm,
                interpreter,
            };
            let range = (t * chunk).min(n)..((t + 1) * chunk).min(n);
            let done = &done;
            handles.push(scope.spawn(move || agree_range(w, corpus, range, done)));
        }
        while handles.iter().any(|h| !h.is_finished()) {
            std::thread::sleep(Duration::from_millis(500));
            eprint!(
                "\r  {} rules: {}/{} inputs agree ({:.0} s)",
                c.size.rules(),
                done.load(Ordering::Relaxed),
                n,
                started.elapsed().as_secs_f64()
            );
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("an agreement worker panicked"))
            .collect()
    });
    eprintln!(
        "\r  {} rules: {}/{} inputs agree ({:.0} s)",
        c.size.rules(),
        done.load(Ordering::Relaxed),
        n,
        started.elapsed().as_secs_f64()
    );
    let mut all = Agreement::default();
    let mut first_error: Option<(usize, String)> = None;
    for r in results {
        match r {
            Ok(a) => {
                for k in 0..PATHS.len() {
                    all.spent[k] += a.spent[k];
                }
                for (o, n) in a.outcomes {
                    *all.outcomes.entry(o).or_insert(0) += n;
                }
                for (r, n) in a.reasons {
                    *all.reasons.entry(r).or_insert(0) += n;
                }
            }
            Err((i, msg)) => {
                if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_error = Some((i, msg));
                }
            }
        }
    }
    match first_error {
        Some((_, msg)) => Err(msg),
        None => Ok(all),
    }
}

// --------------------------------------------------------------- timing --

struct Row {
    engine: Engine,
    size: Size,
    decoded: Figure,
    json: Figure,
    sample: usize,
    compile: Option<Duration>,
    memory: Option<Memory>,
    /// Why the row has no figures (the engine refused the policy).
    failed: Option<String>,
}

#[derive(Clone, Copy)]
struct Memory {
    heap_peak: i64,
    rss_delta: Option<i64>,
}

/// How many inputs one pass runs for a path whose agreement run took
/// `secs_per_decision`: enough to fill `plan.min_pass`, at least 20.
fn sample_size(plan: Plan, secs_per_decision: f64, corpus: usize) -> usize {
    let want = (plan.min_pass.as_secs_f64() / secs_per_decision.max(1e-9)).ceil() as usize;
    want.clamp(20.min(corpus), corpus)
}

fn time_size(
    c: &mut Compiled,
    corpus: &Corpus,
    plan: Plan,
    spent: &[f64; PATHS.len()],
) -> Vec<Row> {
    let n_all = corpus.len();
    let per = |k: usize| spent[k] / n_all as f64;
    let extra = c.size.extra as u32;
    let mut rows = Vec::new();
    let vm_error = c.vm.as_ref().err().cloned();
    let mut row = |engine: Engine, decoded: Figure, json: Figure, sample: usize| {
        eprintln!(
            "  {:<36} {:>6} rules  decoded {:>10}  json {:>10}  (n={sample}, passes {}..{} / {}..{})",
            engine.label(),
            c.size.rules(),
            fmt_ns(decoded.median),
            fmt_ns(json.median),
            fmt_ns(decoded.min),
            fmt_ns(decoded.max),
            fmt_ns(json.min),
            fmt_ns(json.max),
        );
        rows.push(Row {
            engine,
            size: c.size,
            decoded,
            json,
            sample,
            compile: None,
            memory: None,
            failed: if engine == Engine::RegorusVm {
                vm_error.clone()
            } else {
                None
            },
        });
    };

    // gatehouse's allocation-free path: a reused `Verdict` over inputs
    // decoded once (outside the timed section, like the typed struct of the
    // hand-written Rust), and over JSON text decoded into slots inside it.
    let n = sample_size(plan, per(9).max(per(10)), n_all);
    let values = &corpus.values[..n];
    let texts = &corpus.texts[..n];
    let gate = &c.gate;
    let inputs: Vec<gatehouse::Input<'_>> = values
        .iter()
        .map(|v| {
            gate.decode(v, &gatehouse::EvalOptions::default())
                .expect("fits")
        })
        .collect();
    let mut verdict = gate.verdict();
    let d = measure::time(
        plan,
        n,
        || (),
        |()| {
            for input in &inputs {
                black_box(verdict.decide(black_box(input)).outcome());
            }
        },
    );
    let j = measure::time(
        plan,
        n,
        || (),
        |()| {
            for t in texts {
                if let Ok(input) = gate.decode_json(black_box(t)) {
                    black_box(verdict.decide(&input).outcome());
                }
            }
        },
    );
    row(Engine::Gatehouse, d, j, n);

    // gatehouse's owned decision: names, messages, the action digest.
    let n = sample_size(plan, per(0).max(per(1)), n_all);
    let values = &corpus.values[..n];
    let texts = &corpus.texts[..n];
    let d = measure::time(
        plan,
        n,
        || (),
        |()| {
            for v in values {
                black_box(gate.evaluate(black_box(v)).outcome);
            }
        },
    );
    let mut decider = gate.json_decider(gatehouse::EvalOptions::default());
    let j = measure::time(
        plan,
        n,
        || (),
        |()| {
            for t in texts {
                black_box(decider.decide(black_box(t)).outcome);
            }
        },
    );
    row(Engine::GatehouseOwned, d, j, n);

    // The decision document with the action digest, written straight from
    // JSON text: what the service, the Python package and `eval --jsonl`
    // answer with. Only from JSON text (a decoded `Value` has no text).
    let n = sample_size(plan, per(11), n_all);
    let texts = &corpus.texts[..n];
    let mut out = Vec::with_capacity(4096);
    let j = measure::time(
        plan,
        n,
        || (),
        |()| {
            for t in texts {
                out.clear();
                black_box(decider.write_json(black_box(t), &mut out));
                black_box(out.len());
            }
        },
    );
    let none = Figure {
        median: f64::NAN,
        min: f64::NAN,
        max: f64::NAN,
    };
    row(Engine::GatehouseDocument, none, j, n);

    // Cedar, context from the decoded JSON value (consumed: cloned outside
    // the timed section) and from JSON text.
    let n = sample_size(plan, per(2).max(per(3)), n_all);
    let ced = &c.cedar;
    let d = measure::time(
        plan,
        n,
        || corpus.values[..n].to_vec(),
        |batch| {
            for v in batch {
                let a = ced.decide_json_value(v);
                black_box((a.level, a.reasons.len()));
            }
        },
    );
    let texts = &corpus.texts[..n];
    let j = measure::time(
        plan,
        n,
        || (),
        |()| {
            for t in texts {
                let a = ced.decide_json_str(black_box(t));
                black_box((a.level, a.reasons.len()));
            }
        },
    );
    row(Engine::CedarJsonValue, d, j, n);

    // Cedar, context from pairs built from the typed struct; from JSON text
    // through serde into the struct first.
    let n = sample_size(plan, per(4), n_all);
    let typed = &corpus.typed[..n];
    let texts = &corpus.texts[..n];
    let d = measure::time(
        plan,
        n,
        || (),
        |()| {
            for x in typed {
                let a = ced.decide_typed(black_box(x));
                black_box((a.level, a.reasons.len()));
            }
        },
    );
    let j = measure::time(
        plan,
        n,
        || (),
        |()| {
            for t in texts {
                let x: native::Input = serde_json::from_str(black_box(t)).expect("typed");
                let a = ced.decide_typed(&x);
                black_box((a.level, a.reasons.len()));
            }
        },
    );
    row(Engine::CedarPairs, d, j, n);

    // regorus: the input is a regorus::Value (decoded: prepared outside the
    // timed section; from JSON: Value::from_json_str inside it).
    for (engine, k) in [(Engine::RegorusVm, 5), (Engine::RegorusInterpreter, 6)] {
        let n = sample_size(plan, per(k), n_all);
        let texts = &corpus.texts[..n];
        let interp = &mut c.interpreter;
        let mut vm = match (&mut c.vm, engine) {
            (Ok(vm), _) => Some(vm),
            (Err(_), Engine::RegorusVm) => {
                let none = Figure {
                    median: f64::NAN,
                    min: f64::NAN,
                    max: f64::NAN,
                };
                row(engine, none, none, 0);
                continue;
            }
            (Err(_), _) => None,
        };
        let mut eval = |v: regorus::Value| -> u8 {
            match (engine, vm.as_deref_mut()) {
                (Engine::RegorusVm, Some(vm)) => rego::level(&rego::eval_vm(vm, v)),
                _ => rego::level(&rego::eval_interpreter(interp, v)),
            }
        };
        let d = measure::time(
            plan,
            n,
            || corpus.rego[..n].to_vec(),
            |batch| {
                for v in batch {
                    black_box(eval(v));
                }
            },
        );
        let j = measure::time(
            plan,
            n,
            || (),
            |()| {
                for t in texts {
                    let v = regorus::Value::from_json_str(black_box(t)).expect("input");
                    black_box(eval(v));
                }
            },
        );
        row(engine, d, j, n);
    }

    // Hand-written Rust over the typed struct; from JSON via serde.
    let n = n_all;
    let typed = &corpus.typed[..n];
    let texts = &corpus.texts[..n];
    let d = measure::time(
        plan,
        n,
        || (),
        |()| {
            for x in typed {
                black_box(native::decide(black_box(x), extra));
            }
        },
    );
    let j = measure::time(
        plan,
        n,
        || (),
        |()| {
            for t in texts {
                let x: native::Input = serde_json::from_str(black_box(t)).expect("typed");
                black_box(native::decide(&x, extra));
            }
        },
    );
    row(Engine::Native, d, j, n);
    rows
}

/// Compile time of each engine at one size (median of `runs`).
fn compile_times(
    size: Size,
    runs: usize,
    first_input: &regorus::Value,
) -> BTreeMap<Engine, Duration> {
    let gate_src = gate::source(size);
    let cedar_src = cedar::source(size);
    let rego_src = rego::source(size);
    let mut out = BTreeMap::new();
    let t = measure::time_once(runs, || gate::from_text(gate_src.clone()));
    out.insert(Engine::Gatehouse, t);
    out.insert(Engine::GatehouseOwned, t);
    out.insert(Engine::GatehouseDocument, t);
    let t = measure::time_once(runs, || cedar::Cedar::from_text(&cedar_src));
    out.insert(Engine::CedarJsonValue, t);
    out.insert(Engine::CedarPairs, t);
    let t = measure::time_once(runs, || rego::vm_from_text(rego_src.clone()));
    out.insert(Engine::RegorusVm, t);
    // The interpreter prepares (analyses and schedules) the policy on its
    // first evaluation: adding the policy and one evaluation.
    let t = measure::time_once(runs, || {
        let mut engine = rego::interpreter_from_text(rego_src.clone());
        rego::eval_interpreter(&mut engine, first_input.clone());
        engine
    });
    out.insert(Engine::RegorusInterpreter, t);
    out
}

// --------------------------------------------------------------- memory --

/// In a child process: heap peak (counting allocator) and resident-set
/// growth (VmHWM) while compiling the policy and deciding `n` inputs by the
/// decoded path, above what the inputs themselves take.
fn memory_child(engine: Engine, size: Size, n: usize) {
    measure::start_counting();
    let corpus = Corpus::new(n);
    // The policy text is made before the mark: it is the engine's input.
    let text = match engine {
        Engine::Gatehouse | Engine::GatehouseOwned | Engine::GatehouseDocument => {
            gate::source(size)
        }
        Engine::CedarJsonValue | Engine::CedarPairs => cedar::source(size),
        Engine::RegorusVm | Engine::RegorusInterpreter => rego::source(size),
        Engine::Native => String::new(),
    };
    let rss_reset = measure::reset_rss_peak();
    let rss0 = measure::rss_peak();
    let heap0 = measure::heap_mark();
    let extra = size.extra as u32;
    match engine {
        Engine::Gatehouse => {
            let p = gate::from_text(text);
            let mut verdict = p.verdict();
            for v in &corpus.values {
                if let Ok(input) = p.decode(v, &gatehouse::EvalOptions::default()) {
                    black_box(verdict.decide(&input).outcome());
                }
            }
        }
        Engine::GatehouseOwned => {
            let p = gate::from_text(text);
            for v in &corpus.values {
                black_box(p.evaluate(v));
            }
        }
        Engine::GatehouseDocument => {
            let p = gate::from_text(text);
            let mut decider = p.json_decider(gatehouse::EvalOptions::default());
            let mut out = Vec::new();
            for t in &corpus.texts {
                out.clear();
                black_box(decider.write_json(t, &mut out));
            }
        }
        Engine::CedarJsonValue => {
            let c = cedar::Cedar::from_text(&text);
            for v in &corpus.values {
                let a = c.decide_json_value(v.clone());
                black_box((a.level, a.reasons.len()));
            }
        }
        Engine::CedarPairs => {
            let c = cedar::Cedar::from_text(&text);
            for x in &corpus.typed {
                let a = c.decide_typed(x);
                black_box((a.level, a.reasons.len()));
            }
        }
        Engine::RegorusVm => {
            let Ok(mut vm) = rego::vm_from_text(text) else {
                println!("-1 -1");
                return;
            };
            for v in &corpus.rego {
                black_box(rego::eval_vm(&mut vm, v.clone()));
            }
        }
        Engine::RegorusInterpreter => {
            let mut e = rego::interpreter_from_text(text);
            for v in &corpus.rego {
                black_box(rego::eval_interpreter(&mut e, v.clone()));
            }
        }
        Engine::Native => {
            for x in &corpus.typed {
                black_box(native::decide(x, extra));
            }
        }
    }
    let heap = measure::heap_peak() - heap0;
    let rss = measure::rss_peak() as i64 - rss0 as i64;
    println!("{heap} {}", if rss_reset { rss } else { -1 });
}

fn memory(engine: Engine, size: Size, n: usize) -> Option<Memory> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new(exe)
        .args([
            "--child-memory",
            engine.key(),
            &size.extra.to_string(),
            &n.to_string(),
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "  memory child for {} failed: {}",
            engine.key(),
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().map(|x| x.parse::<i64>().ok());
    let heap_peak = it.next()??;
    let rss = it.next()??;
    if heap_peak < 0 {
        return None;
    }
    Some(Memory {
        heap_peak,
        rss_delta: (rss >= 0).then_some(rss),
    })
}

// --------------------------------------------------------------- output --

fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "–".into()
    } else if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

fn fmt_ratio(x: f64) -> String {
    if !x.is_finite() {
        "–".into()
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else if x >= 0.1 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

fn fmt_dur(d: Duration) -> String {
    fmt_ns(d.as_nanos() as f64)
}

fn fmt_bytes(b: i64) -> String {
    let b = b as f64;
    if b.abs() < 1024.0 * 1024.0 {
        format!("{:.0} KiB", b / 1024.0)
    } else {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// Today's date (UTC), from the system clock.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn crate_versions() -> String {
    // The versions in this package's Cargo.lock, which run.sh builds with.
    let lock = include_str!("../Cargo.lock");
    let mut out = Vec::new();
    for name in ["cedar-policy", "regorus", "serde_json"] {
        let needle = format!("name = \"{name}\"\nversion = \"");
        if let Some(i) = lock.find(&needle) {
            let rest = &lock[i + needle.len()..];
            if let Some(end) = rest.find('"') {
                out.push(format!("{name} {}", &rest[..end]));
            }
        }
    }
    out.join(", ")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child-memory") {
        let engine = args.get(1).and_then(|k| Engine::from_key(k));
        let extra = args.get(2).and_then(|x| x.parse().ok());
        let n = args.get(3).and_then(|x| x.parse().ok());
        let (Some(engine), Some(extra), Some(n)) = (engine, extra, n) else {
            eprintln!("bad --child-memory arguments");
            return ExitCode::from(2);
        };
        memory_child(engine, Size { extra }, n);
        return ExitCode::SUCCESS;
    }
    let opts = match parse_args(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let plan = if opts.quick {
        Plan {
            passes: 3,
            min_pass: Duration::from_millis(40),
        }
    } else {
        Plan {
            passes: 7,
            min_pass: Duration::from_millis(400),
        }
    };
    let started = Instant::now();

    eprintln!("corpus: {} inputs (seed {:#x})", opts.inputs, corpus::SEED);
    let corpus = Corpus::new(opts.inputs);

    eprintln!("compiling every engine at {} sizes", opts.sizes.len());
    let mut compiled: Vec<Compiled> = opts.sizes.iter().map(|s| Compiled::new(*s)).collect();

    // 1. Agreement, on every input at every size, before any timing.
    eprintln!("agreement check");
    let mut spent = Vec::new();
    let mut histogram = None;
    let mut sys_hits: Vec<(usize, usize)> = Vec::new();
    for c in compiled.iter_mut() {
        match agree(c, &corpus, opts.threads) {
            Ok(a) => {
                if c.size.extra > 0 {
                    let hits = a
                        .reasons
                        .iter()
                        .filter(|(r, _)| r.starts_with("SYS_"))
                        .map(|(_, n)| n)
                        .sum();
                    sys_hits.push((c.size.rules(), hits));
                }
                if c.size.extra == 0 {
                    histogram = Some((a.outcomes, a.reasons));
                }
                spent.push(a.spent);
            }
            Err(msg) => {
                eprintln!();
                eprintln!("{msg}");
                eprintln!("the engines disagree: no timing is done");
                return ExitCode::from(1);
            }
        }
    }
    let sizes_text: Vec<String> = opts.sizes.iter().map(|s| s.rules().to_string()).collect();
    eprintln!(
        "all {} paths agree on all {} inputs at {} rules",
        PATHS.len(),
        corpus.len(),
        sizes_text.join(" / ")
    );
    let mut never = Vec::new();
    if let Some((_, reasons)) = &histogram {
        for code in native::CODES
            .iter()
            .chain(&["EVIDENCE_MISSING", "NO_RULE_MATCHED"])
        {
            if !reasons.contains_key(*code) {
                never.push(*code);
            }
        }
        if !never.is_empty() {
            eprintln!("warning: never given on this corpus: {}", never.join(", "));
        }
    }

    // 2. Timing.
    eprintln!(
        "timing ({} passes of at least {:?} each)",
        plan.passes, plan.min_pass
    );
    let mut rows = Vec::new();
    for (c, s) in compiled.iter_mut().zip(&spent) {
        rows.extend(time_size(c, &corpus, plan, s));
    }
    drop(compiled);

    // 3. Compile times.
    eprintln!("compile times");
    for size in &opts.sizes {
        let runs = match (size.extra, opts.quick) {
            (0, false) => 9,
            (0, true) => 3,
            (1_000, false) => 3,
            _ => 1,
        };
        let times = compile_times(*size, runs, &corpus.rego[0]);
        for r in rows.iter_mut().filter(|r| r.size == *size) {
            r.compile = times.get(&r.engine).copied();
        }
    }

    // 4. Memory, one child process per engine and size.
    let mem_inputs = if opts.quick { 50 } else { 200 }.min(opts.inputs);
    if opts.memory {
        eprintln!("peak memory ({mem_inputs} decisions per child)");
        for r in rows.iter_mut() {
            r.memory = memory(r.engine, r.size, mem_inputs);
        }
    }

    // 5. The table.
    let mut md = String::new();
    let _ = writeln!(md, "# gatehouse and its peers: results\n");
    let _ = writeln!(
        md,
        "Machine: {}, {} cores. Date: {}. Run: `benches/peers/run.sh{}` ({} inputs, {} passes of ≥ {} ms, median; total {:.0} s). Crates: {}.\n",
        cpu_model(),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        today(),
        if opts.quick { " --quick" } else { "" },
        corpus.len(),
        plan.passes,
        plan.min_pass.as_millis(),
        started.elapsed().as_secs_f64(),
        crate_versions(),
    );
    let _ = writeln!(
        md,
        "Agreement: all {} paths gave the same outcome and reason set on all {} inputs at {} rules.\n",
        PATHS.len(),
        corpus.len(),
        sizes_text.join(", ")
    );
    let _ = writeln!(
        md,
        "| engine | rules | time/decision, decoded | time/decision, from JSON text | × gatehouse (decoded / JSON) | compile | peak memory: heap / RSS |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let base = rows
            .iter()
            .find(|g| g.size == r.size && g.engine == Engine::Gatehouse)
            .expect("gatehouse row");
        let ratio = if r.failed.is_some() {
            "–".to_string()
        } else {
            format!(
                "{} / {}",
                fmt_ratio(r.decoded.median / base.decoded.median),
                fmt_ratio(r.json.median / base.json.median)
            )
        };
        let compile = match (r.engine, r.compile) {
            _ if r.failed.is_some() => {
                format!(
                    "fails: {}",
                    r.failed.as_deref().unwrap_or("").replace('|', "/")
                )
            }
            (Engine::Native, _) => "(rustc)".to_string(),
            (_, Some(d)) => fmt_dur(d),
            (_, None) => "–".into(),
        };
        let mem = match r.memory {
            Some(m) => format!(
                "{} / {}",
                fmt_bytes(m.heap_peak),
                m.rss_delta.map(fmt_bytes).unwrap_or_else(|| "–".into())
            ),
            None => "–".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.engine.label(),
            r.size.rules(),
            fmt_ns(r.decoded.median),
            fmt_ns(r.json.median),
            ratio,
            compile,
            mem
        );
    }
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "Spread between passes (fastest – slowest pass, decoded / JSON), and inputs per pass:\n"
    );
    let _ = writeln!(
        md,
        "| engine | rules | decoded | from JSON | inputs per pass |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|");
    for r in rows.iter().filter(|r| r.failed.is_none()) {
        let _ = writeln!(
            md,
            "| {} | {} | {} – {} | {} – {} | {} |",
            r.engine.label(),
            r.size.rules(),
            fmt_ns(r.decoded.min),
            fmt_ns(r.decoded.max),
            fmt_ns(r.json.min),
            fmt_ns(r.json.max),
            r.sample
        );
    }
    if let Some((outcomes, reasons)) = &histogram {
        let _ = writeln!(md, "\nThe corpus against the 15-rule matrix:\n");
        let parts: Vec<String> = outcomes
            .iter()
            .map(|(l, n)| format!("{} {n}", LEVELS[*l as usize]))
            .collect();
        let _ = writeln!(md, "- outcomes: {}", parts.join(", "));
        let parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let _ = writeln!(md, "- reasons: {}", parts.join(", "));
        if !never.is_empty() {
            let _ = writeln!(md, "- never given: {}", never.join(", "));
        }
    }
    for (rules, hits) in &sys_hits {
        let _ = writeln!(
            md,
            "- with {rules} rules, {hits} of {} inputs match one of the generated `sys:<k>` rules",
            corpus.len()
        );
    }
    let _ = writeln!(
        md,
        "\nWhat each figure includes: see benches/peers/README.md. Peak memory: heap = peak live heap bytes (counting global allocator) while compiling and deciding {mem_inputs} inputs, above the inputs themselves; RSS = growth of the resident-set high-water mark (VmHWM) over the same span, in a child process per row."
    );
    println!("{md}");
    if let Some(path) = &opts.output {
        match std::fs::write(path, &md) {
            Ok(()) => eprintln!("written to {}", path.display()),
            Err(e) => eprintln!("could not write {}: {e}", path.display()),
        }
    }
    ExitCode::SUCCESS
}
