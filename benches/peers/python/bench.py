"""gatehouse from Python beside cedarpy and opa-eval, on the peers matrix.

One run: for each policy size, every path decides every corpus input and
must agree with gatehouse's ``Policy.evaluate`` on the outcome and the set of
reason codes (as ``benches/peers`` does in Rust); only then is anything
timed. Timing is single-process wall time (``time.perf_counter_ns``): each
pass repeats a sample of the corpus until it has lasted ``--min-ms``, and
the table reports the median of ``--passes`` passes. See README.md here.

    python bench.py                      # 10 000 inputs, 7 passes, sizes 15 and 1015
    python bench.py --quick              # 1 000 inputs, 3 short passes
    python bench.py --rust-baseline BIN  # also time the Rust engine on the same corpus

Exit status 1 on the first disagreement (the input and every path's answer
are printed), 0 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import cedarpy
import opa_eval
import pyarrow as pa

import gatehouse

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402  (beside this file, not an installed package)

#: The names of the Arrow rows: their inputs are tables (see ``main``). The
#: binding decides a table of 512 rows or more on every core, fewer on the
#: calling thread: tables of 256 rows give the one-thread figure.
ARROW = "gatehouse `evaluate_arrow`, one table (all cores)"
ARROW_1 = "gatehouse `evaluate_arrow`, tables of 256 rows (one thread)"

#: One engine's answer, normalized for comparison: outcome level and reason set.
Verdict = tuple[int, frozenset[str]]

_CEDAR_ANNOTATIONS = re.compile(r'@id\("([^"]+)"\)\s*@level\("([a-z]+)"\)\s*@reason\("([A-Z0-9_]+)"\)')
_PRINCIPAL = 'Agent::"agent"'
_ACTION = 'Action::"propose"'
_RESOURCE = 'Target::"target"'


# ---------------------------------------------------------------------------
# The engines


class Cedar:
    """cedarpy with the policy set and the (empty) entities parsed once.

    cedarpy returns the determining policies' ids, and maps them to their
    ``@id`` annotation; ``@level``/``@reason`` are read from the policy text
    once here (as the Rust harness reads them once from the ``PolicySet``).
    """

    def __init__(self, source: str) -> None:
        """Parse ``source`` into a ``PolicySet`` handle and index its annotations."""
        self.source = source
        self.policies = cedarpy.PolicySet.from_str(source)
        self.entities = cedarpy.Entities.from_json_str("[]")
        self.annotations: dict[str, tuple[int, str]] = {
            pid: (corpus.LEVELS.index(level), reason)
            for pid, level, reason in _CEDAR_ANNOTATIONS.findall(source)
        }
        if not self.annotations:
            raise ValueError("the Cedar source has no @id/@level/@reason annotations")

    @staticmethod
    def request(context: dict[str, Any] | str) -> dict[str, Any]:
        """The request for one input: fixed principal, action and resource."""
        return {"principal": _PRINCIPAL, "action": _ACTION, "resource": _RESOURCE, "context": context}

    def verdict(self, result: Any) -> Verdict:
        """Outcome and reasons of one ``AuthzResult``; any policy error fails."""
        diagnostics = result.diagnostics
        if diagnostics.errors:
            raise AssertionError(f"Cedar policy evaluation errors: {diagnostics.errors}")
        if result.decision == cedarpy.Decision.Deny:
            return 0, frozenset({"NO_RULE_MATCHED"})
        ids = diagnostics.id_annotations_by_reason
        level = 0
        reasons: set[str] = set()
        for pid in diagnostics.reasons:
            # An unannotated determining policy would be a harness bug: make it
            # a disagreement (level 255), never a silent pass.
            lv, reason = self.annotations.get(ids.get(pid, ""), (255, f"?{pid}"))
            level = max(level, lv)
            reasons.add(reason)
        return level, frozenset(reasons)


def opa_source(extra: int) -> str:
    """The Rego matrix, rewritten where opa-eval's regorus 0.2.8 cannot read it.

    regorus 0.2.8 rejects a comprehension in a rule's value ("statements not
    scheduled"), so the three comprehensions of ``matrix.rego`` become
    helper set rules with the same members. Nothing else changes; every
    rewrite must apply, or the matrix changed and this port must follow.
    """
    text = corpus.rego_source(extra)
    rewrites = [
        ("{h.level | some h in hits}", "hit_levels"),
        ("{h.reason | some h in hits}", "hit_reasons"),
        ('{"EVIDENCE_MISSING" | count(missing) > 0}', "evidence_flag"),
    ]
    for old, new in rewrites:
        if text.count(old) != 1:
            raise ValueError(f"matrix.rego changed: {old!r} is not there exactly once")
        text = text.replace(old, new)
    return text + (
        "\n# For regorus 0.2.8 (opa-eval): the comprehensions above as rules.\n"
        "hit_levels contains h.level if {\n\tsome h in hits\n}\n\n"
        "hit_reasons contains h.reason if {\n\tsome h in hits\n}\n\n"
        'evidence_flag contains "EVIDENCE_MISSING" if count(missing) > 0\n'
    )


def opa_verdict(decision: Any) -> Verdict:
    """Outcome and reasons of ``data.gate.decision`` (a dict from opa-eval)."""
    return int(decision["level"]), frozenset(decision["reasons"])


def gate_verdict(decision: Any) -> Verdict:
    """Outcome and reasons of a ``gatehouse.Decision``."""
    return int(decision.outcome), frozenset(decision.reason_codes)


def arrow_verdicts(table: Any) -> list[Verdict]:
    """Outcome and reasons of every row of ``Policy.evaluate_arrow``'s result table."""
    ranks = table.column("outcome_rank").to_pylist()
    reasons = table.column("reasons").to_pylist()
    return [(int(o), frozenset(r)) for o, r in zip(ranks, reasons, strict=True)]


def arrow_tables(values: list[dict[str, Any]], texts: list[str]) -> tuple[Any, Any]:
    """The corpus as Arrow: one struct column per top-level field, and one
    ``action`` column of JSON text (the binding's zero-copy path).

    Not ``pa.Table.from_pylist``: it takes the top-level columns from the
    first row's keys only, silently dropping a field (``change_window``)
    that the first input lacks. ``pa.array`` infers the struct type from
    every row; a field absent from a row is null there, which the binding
    writes as an absent field.
    """
    rows = pa.Table.from_struct_array(pa.array(values))
    return rows, pa.table({"action": pa.array(texts, pa.string())})


@dataclasses.dataclass
class Engines:
    """Every engine compiled for one policy size, plus the compile times."""

    rules: int
    gate: Any
    cedar: Cedar
    opa: Any
    compile_ms: dict[str, float]
    gate_source: str


def compile_engines(extra: int, workdir: pathlib.Path) -> Engines:
    """Compile the three engines for the matrix plus ``extra`` generated rules."""
    gsrc, csrc, rsrc = corpus.gate_source(extra), corpus.cedar_source(extra), opa_source(extra)
    times: dict[str, float] = {}
    t = time.perf_counter()
    gate = gatehouse.Policy.from_source(gsrc, "matrix.gate")
    times["gatehouse"] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    cedar = Cedar(csrc)
    times["cedarpy"] = (time.perf_counter() - t) * 1e3
    rego_path = workdir / f"matrix-{extra}.rego"
    rego_path.write_text(rsrc, encoding="utf-8")
    t = time.perf_counter()
    opa = opa_eval.OpaEval(str(rego_path), query="data.gate.decision")
    times["opa-eval"] = (time.perf_counter() - t) * 1e3
    return Engines(15 + extra, gate, cedar, opa, times, gsrc)


# ---------------------------------------------------------------------------
# The paths: (name, engine, how one column decides a sample, how it checks)


@dataclasses.dataclass
class Path:
    """One row of the table.

    ``dict_run``/``text_run`` decide a sample of inputs (given as dicts or
    as JSON text) and return nothing; they are what is timed. ``check``
    returns the path's verdicts on the whole corpus for the agreement
    check (``None``: the path gives no reasons, compare outcomes only).
    """

    name: str
    engine: str
    dict_run: Callable[[Sequence[Any]], None] | None
    text_run: Callable[[Sequence[str]], None] | None
    check: Callable[[list[dict[str, Any]], list[str]], list[Verdict]]
    outcome_only: bool = False


def paths(e: Engines, arrow: bool) -> list[Path]:
    """Every timed path for one size."""
    gate, cedar, opa = e.gate, e.cedar, e.opa
    req = Cedar.request

    def g_each(xs: Sequence[Any]) -> None:
        for x in xs:
            gate.evaluate(x).outcome

    def g_outcome(xs: Sequence[Any]) -> None:
        for x in xs:
            gate.outcome(x)

    def g_many(xs: Sequence[Any]) -> None:
        for d in gate.evaluate_many(xs):
            d.outcome

    def g_many_small(xs: Sequence[Any]) -> None:
        # Lists of 256: below the binding's parallel threshold (512), so
        # this is one thread, comparable with cedarpy's single-threaded batch.
        for i in range(0, len(xs), 256):
            for d in gate.evaluate_many(xs[i : i + 256]):
                d.outcome

    def c_each(xs: Sequence[Any]) -> None:
        for x in xs:
            cedar.verdict(cedarpy.is_authorized(req(x), cedar.policies, cedar.entities))

    def c_each_text_policy(xs: Sequence[Any]) -> None:
        for x in xs:
            cedar.verdict(cedarpy.is_authorized(req(x), cedar.source, "[]"))

    def c_batch(xs: Sequence[Any]) -> None:
        for r in cedarpy.is_authorized_batch([req(x) for x in xs], cedar.policies, cedar.entities):
            cedar.verdict(r)

    def o_dict(xs: Sequence[Any]) -> None:
        for x in xs:
            opa.evaluate_parsed(json.dumps(x))["level"]

    def o_text(xs: Sequence[str]) -> None:
        for x in xs:
            opa.evaluate_parsed(x)["level"]

    out = [
        Path("gatehouse `Policy.evaluate`, per call", "gatehouse", g_each, g_each,
             lambda v, t: [gate_verdict(gate.evaluate(x)) for x in v]),
        Path("gatehouse `Policy.outcome`, per call", "gatehouse", g_outcome, g_outcome,
             lambda v, t: [(int(gate.outcome(x)), frozenset()) for x in t], outcome_only=True),
        Path("gatehouse `evaluate_many`, one list (all cores)", "gatehouse", g_many, g_many,
             lambda v, t: [gate_verdict(d) for d in gate.evaluate_many(t)]),
        Path("gatehouse `evaluate_many`, lists of 256 (one thread)", "gatehouse", g_many_small, g_many_small,
             lambda v, t: [gate_verdict(d) for i in range(0, len(v), 256) for d in gate.evaluate_many(v[i : i + 256])]),
    ]  # fmt: skip
    if arrow:

        def g_arrow_rows(tables: Sequence[Any]) -> None:
            for table in tables:
                gate.evaluate_arrow(table, column=None)

        def g_arrow_text(tables: Sequence[Any]) -> None:
            for table in tables:
                gate.evaluate_arrow(table, column="action")

        def g_arrow_check(v: list[dict[str, Any]], t: list[str]) -> list[Verdict]:
            rows, text = arrow_tables(v, t)
            by_rows = arrow_verdicts(gate.evaluate_arrow(rows, column=None))
            by_text = arrow_verdicts(gate.evaluate_arrow(text, column="action"))
            # Both columns must agree; a difference between them is reported
            # as this path's answer (the rows' one) differing.
            return [r if r == x else (255, r[1] | {"<text column differs>"}) for r, x in zip(by_rows, by_text, strict=True)]

        out.append(Path(ARROW, "gatehouse", g_arrow_rows, g_arrow_text, g_arrow_check))
        out.append(Path(ARROW_1, "gatehouse", g_arrow_rows, g_arrow_text, g_arrow_check))
    out += [
        Path("cedarpy `is_authorized`, per call (parsed `PolicySet`)", "cedarpy", c_each, c_each,
             lambda v, t: [cedar.verdict(cedarpy.is_authorized(req(x), cedar.policies, cedar.entities)) for x in t]),
        Path("cedarpy `is_authorized`, per call (policy text)", "cedarpy", c_each_text_policy, None,
             lambda v, t: [cedar.verdict(cedarpy.is_authorized(req(x), cedar.source, "[]")) for x in v[:200]]),
        Path("cedarpy `is_authorized_batch`, one list", "cedarpy", c_batch, c_batch,
             lambda v, t: [cedar.verdict(r) for r in cedarpy.is_authorized_batch([req(x) for x in v], cedar.policies, cedar.entities)]),
        Path("opa-eval `evaluate_parsed` (regorus 0.2.8)", "opa-eval", o_dict, o_text,
             lambda v, t: [opa_verdict(opa.evaluate_parsed(x)) for x in t]),
    ]  # fmt: skip
    return out


# ---------------------------------------------------------------------------
# Agreement, then timing


def disagreement(e: Engines, ps: list[Path], values: list[dict[str, Any]], texts: list[str]) -> str | None:
    """Every path must give gatehouse's outcome and reason set on every input it decides.

    Returns ``None`` when all agree, else a report of the first input where
    some path differs: the input and every path's answer, ``!`` marking the
    ones that differ from the reference (``Policy.evaluate`` on the dict).
    """
    reference = [gate_verdict(e.gate.evaluate(v)) for v in values]
    answers = {p.name: p.check(values, texts) for p in ps}
    for i, want in enumerate(reference):
        # A slow path checks a prefix of the corpus (its list is shorter).
        bad = [
            p.name
            for p in ps
            if i < len(answers[p.name])
            and (answers[p.name][i][0] != want[0] if p.outcome_only else answers[p.name][i] != want)
        ]
        if bad:
            lines = [
                f"DISAGREEMENT at {e.rules} rules, input {i}: {texts[i]}",
                f"  reference gatehouse: {corpus.LEVELS[want[0]]} {sorted(want[1])}",
            ]
            for p in ps:
                if i < len(answers[p.name]):
                    lv, rs = answers[p.name][i]
                    name = corpus.LEVELS[lv] if 0 <= lv < len(corpus.LEVELS) else str(lv)
                    lines.append(f" {'!' if p.name in bad else ' '} {p.name}: {name} {sorted(rs)}")
            return "\n".join(lines)
    return None


@dataclasses.dataclass
class Timing:
    """Nanoseconds per decision of each pass, and the sample size."""

    passes: list[float]
    sample: int

    @property
    def median(self) -> float:
        """The median pass."""
        return statistics.median(self.passes)


@dataclasses.dataclass
class Plan:
    """One column of one row, ready to time: the run and its sample.

    The sample is the whole list for fast paths and a prefix sized so that
    one round lasts about ``min_ms`` for slow ones (as the Rust harness).
    ``per_item`` is how many decisions one element stands for (a table).
    """

    run: Callable[[Sequence[Any]], None]
    sample: list[Any]
    per_item: int
    passes: list[float] = dataclasses.field(default_factory=list)


def plan(run: Callable[[Sequence[Any]], None], inputs: Sequence[Any], min_ms: float, per_item: int = 1) -> Plan:
    """Size the sample of ``run`` from a probe of 20 inputs, then warm it up once."""
    probe = list(inputs[: min(20, len(inputs))])
    t = time.perf_counter_ns()
    run(probe)
    per = max((time.perf_counter_ns() - t) / max(1, len(probe)), 1.0)
    n = int(min(len(inputs), max(len(probe), min_ms * 1e6 / per)))
    sample = list(inputs[:n])
    run(sample)  # warm-up round: caches, first-call work
    return Plan(run, sample, per_item)


def one_pass(p: Plan, min_ms: float) -> None:
    """One pass: repeat the sample until ``min_ms`` has passed; record ns per decision."""
    rounds = 0
    start = time.perf_counter_ns()
    while True:
        p.run(p.sample)
        rounds += 1
        elapsed = time.perf_counter_ns() - start
        if elapsed >= min_ms * 1e6:
            break
    p.passes.append(elapsed / (rounds * len(p.sample) * p.per_item))


def fmt_ns(ns: float | None) -> str:
    """A duration in ns, µs or ms with three significant digits."""
    if ns is None:
        return "–"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.3g} µs"
    return f"{ns / 1e6:.3g} ms"


def rust_baseline(binary: str, source: str, texts: list[str], passes: int, min_ms: float,
                  workdir: pathlib.Path) -> dict[str, Any]:  # fmt: skip
    """The Rust engine on the same policy and corpus (rust/src/main.rs), in a child process."""
    policy = workdir / "baseline.gate"
    policy.write_text(source, encoding="utf-8")
    lines = workdir / "corpus.jsonl"
    lines.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = subprocess.run([binary, str(policy), str(lines), str(passes), str(int(min_ms))],
                         check=True, capture_output=True, text=True, timeout=3600)  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout)
    return result


# ---------------------------------------------------------------------------
# The run


@dataclasses.dataclass
class Row:
    """One line of the table."""

    name: str
    engine: str
    rules: int
    dict_t: Timing | None
    text_t: Timing | None
    compile_ms: float


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, check agreement, time, print and write the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 000 inputs, 3 passes of at least 40 ms")
    ap.add_argument("--inputs", type=int, default=None, help="corpus size (default 10 000)")
    ap.add_argument("--passes", type=int, default=None, help="passes per figure (default 7)")
    ap.add_argument("--min-ms", type=float, default=None, help="least duration of a pass (default 400)")
    ap.add_argument("--sizes", default="15,1015", help="policy sizes in rules (15, 1015, 10015)")
    ap.add_argument("--rust-baseline", default=None, help="the rust-baseline binary (rust/)")
    ap.add_argument("--output", default=str(HERE / "results.md"), help="where to write the table")
    ap.add_argument("--no-write", action="store_true", help="do not write the results file")
    ap.add_argument("--only", default=None, help="loop one path (a substring of its name) for --seconds, for a profiler")
    ap.add_argument("--seconds", type=float, default=20.0, help="how long --only loops")
    ap.add_argument("--column", choices=("dict", "text"), default="dict", help="which input --only loops over")
    ap.add_argument("--note", default="", help="a sentence for the results' machine line (e.g. which wheel)")
    ap.add_argument("--summarize", default=None, help="print where a py-spy raw profile's samples go, and exit")
    args = ap.parse_args(argv)
    if args.summarize:
        print(summarize_profile(args.summarize))
        return 0
    n = args.inputs or (1_000 if args.quick else 10_000)
    passes = args.passes or (3 if args.quick else 7)
    min_ms = args.min_ms or (40.0 if args.quick else 400.0)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if n < 1 or passes < 1 or min_ms <= 0 or any(s < 15 for s in sizes):
        ap.error("--inputs, --passes and --min-ms must be positive, sizes at least 15")

    started = time.time()
    values, texts = corpus.generate(n)
    arrow = hasattr(gatehouse.Policy, "evaluate_arrow")
    rows: list[Row] = []
    rust: dict[int, dict[str, Any]] = {}
    stats: dict[int, Counter[str]] = {}
    with tempfile.TemporaryDirectory(prefix="gatehouse-pybench-") as tmp:
        workdir = pathlib.Path(tmp)
        for size in sizes:
            e = compile_engines(size - 15, workdir)
            ps = paths(e, arrow)
            if args.only:
                return loop_one(ps, args.only, values, texts, args.seconds, args.column)
            t0 = time.time()
            problem = disagreement(e, ps, values, texts)
            if problem is not None:
                print(problem, file=sys.stderr)
                return 1
            print(f"{e.rules} rules: all {len(ps)} paths agree on {n} inputs ({time.time() - t0:.0f} s)", flush=True)
            c: Counter[str] = Counter()
            for v in values:
                level, reasons = gate_verdict(e.gate.evaluate(v))
                c["outcome " + corpus.LEVELS[level]] += 1
                c.update("reason " + r for r in reasons)
            stats[e.rules] = c
            # Plans first, then the passes interleaved: pass k of every
            # column runs before pass k+1 of any, in a rotating order, so a
            # burst of load from other processes lands on every row alike
            # (and on the Rust baseline, run once per round).
            plans: list[tuple[Path, Plan | None, Plan | None]] = []
            for p in ps:
                if p.name in (ARROW, ARROW_1):
                    # Tables built before timing; one element stands for
                    # `per` decisions. The time includes the result table.
                    per = n if p.name == ARROW else min(n, 256)
                    chunks = [arrow_tables(values[i : i + per], texts[i : i + per]) for i in range(0, n - per + 1, per)]
                    dp = plan(p.dict_run, [c[0] for c in chunks], min_ms, per) if p.dict_run else None
                    tp = plan(p.text_run, [c[1] for c in chunks], min_ms, per) if p.text_run else None
                else:
                    dp = plan(p.dict_run, values, min_ms) if p.dict_run else None
                    tp = plan(p.text_run, texts, min_ms) if p.text_run else None
                plans.append((p, dp, tp))
            columns = [q for _, dp, tp in plans for q in (dp, tp) if q is not None]
            baseline: dict[str, Any] = {"verdict_ns": [], "decision_ns": []}
            for k in range(passes):
                for q in columns[k % len(columns) :] + columns[: k % len(columns)]:
                    one_pass(q, min_ms)
                if args.rust_baseline:
                    b = rust_baseline(args.rust_baseline, e.gate_source, texts, 1, min_ms, workdir)
                    want = [stats[e.rules]["outcome " + lv] for lv in corpus.LEVELS]
                    if b["outcomes"] != want:
                        print(f"the Rust baseline's outcomes {b['outcomes']} != Python's {want}", file=sys.stderr)
                        return 1
                    baseline["inputs"] = b["inputs"]
                    baseline["verdict_ns"] += b["verdict_ns"]
                    baseline["decision_ns"] += b["decision_ns"]
                print(f"  pass {k + 1} of {passes} done", flush=True)
            if args.rust_baseline:
                rust[e.rules] = baseline
            for p, dp, tp in plans:
                dt = Timing(dp.passes, len(dp.sample) * dp.per_item) if dp else None
                tt = Timing(tp.passes, len(tp.sample) * tp.per_item) if tp else None
                rows.append(Row(p.name, p.engine, e.rules, dt, tt, e.compile_ms[p.engine]))
                print(f"  {p.name}: {fmt_ns(dt.median if dt else None)} / {fmt_ns(tt.median if tt else None)}", flush=True)
    report = render(rows, rust, stats, n, passes, min_ms, sizes, time.time() - started, argv, args.note)
    print(report)
    if not args.no_write:
        pathlib.Path(args.output).write_text(report, encoding="utf-8")
    return 0


def loop_one(ps: list[Path], name: str, values: list[dict[str, Any]], texts: list[str], seconds: float,
             column: str = "dict") -> int:  # fmt: skip
    """Run one path's ``column`` (dict or text) over the corpus for ``seconds`` (for py-spy/perf)."""
    chosen = [p for p in ps if name in p.name]
    if len(chosen) != 1:
        print(f"--only {name!r} matches {[p.name for p in chosen]}; give a unique substring", file=sys.stderr)
        return 2
    p = chosen[0]
    run = p.text_run if column == "text" else p.dict_run
    if run is None:
        print(f"{p.name} has no {column} column", file=sys.stderr)
        return 2
    inputs: Sequence[Any] = texts if column == "text" else values
    if p.name in (ARROW, ARROW_1):
        per = len(values) if p.name == ARROW else min(len(values), 256)
        tables = [arrow_tables(values[i : i + per], texts[i : i + per]) for i in range(0, len(values) - per + 1, per)]
        inputs = [t[1] if column == "text" else t[0] for t in tables]
    end = time.time() + seconds
    rounds = 0
    while time.time() < end:
        run(inputs)
        rounds += 1
    print(f"{p.name}: {rounds} rounds of {len(values)} inputs")
    return 0


def _row(rows: list[Row], rules: int, prefix: str) -> Row | None:
    """The row at ``rules`` whose name starts with ``prefix``."""
    return next((r for r in rows if r.rules == rules and r.name.startswith(prefix)), None)


def _ratio(num: Timing | None, den: Timing | None) -> float | None:
    """``num``'s median over ``den``'s, or None when either is missing."""
    if num is None or den is None or den.median <= 0:
        return None
    return num.median / den.median


def _fr(x: float | None) -> str:
    """A ratio with three significant digits."""
    return "–" if x is None else f"{x:.3g}"


def render(rows: list[Row], rust: dict[int, dict[str, Any]], stats: dict[int, Counter[str]], n: int,
           passes: int, min_ms: float, sizes: list[int], seconds: float, argv: list[str] | None,
           note: str = "") -> str:  # fmt: skip
    """The results as Markdown: the table, the goals, the spread, the corpus and the machine."""
    cpu = "unknown CPU"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {m: _version(m) for m in ("gatehouse-py", "cedarpy", "opa-eval", "pyarrow")}
    given = list(argv if argv is not None else sys.argv[1:])
    if "--note" in given:  # shown apart
        i = given.index("--note")
        del given[i : i + 2]
    if os.environ.get("GATEHOUSE_BENCH_RUN_SH"):  # run.sh adds --rust-baseline itself
        if "--rust-baseline" in given:
            i = given.index("--rust-baseline")
            del given[i : i + 2]
        cmd = "benches/peers/python/run.sh " + " ".join(given)
    else:
        cmd = "python benches/peers/python/bench.py " + " ".join(given)
    out = [
        "# gatehouse from Python beside cedarpy and opa-eval: results",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores, shared with other builds (noisy). "
        f"Date: {time.strftime('%Y-%m-%d', time.gmtime())}. Python {platform.python_version()}. "
        f"Run: `{cmd.strip()}` ({n} inputs, {passes} passes of ≥ {min_ms:.0f} ms, median; total {seconds:.0f} s). "
        + ", ".join(f"{k} {v}" for k, v in versions.items()) + "." + (f" {note}" if note else ""),
        "",
        f"Agreement: every path gave gatehouse's outcome and reason set on all {n} inputs at "
        + ", ".join(str(s) for s in sizes) + " rules (before any timing; `Policy.outcome` compares the outcome "
        "only; cedarpy with the policy text is checked on the first 200 inputs).",
        "",
        "| path | rules | time/decision, from dict | from JSON text | × gatehouse `evaluate` (dict / text) | compile |",
        "|---|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for r in rows:
        ref = _row(rows, r.rules, "gatehouse `Policy.evaluate`")
        rd = _ratio(r.dict_t, ref.dict_t if ref else None)
        rt = _ratio(r.text_t, ref.text_t if ref else None)
        out.append(f"| {r.name} | {r.rules} | {fmt_ns(r.dict_t.median if r.dict_t else None)} | "
                   f"{fmt_ns(r.text_t.median if r.text_t else None)} | {_fr(rd)} / {_fr(rt)} | {r.compile_ms:.2f} ms |")  # fmt: skip
    for rules, base in sorted(rust.items()):
        out.append(f"| Rust engine: `decode_json` + `Verdict` (rust/, one thread) | {rules} | – | "
                   f"{fmt_ns(statistics.median(base['verdict_ns']))} | | |")  # fmt: skip
        out.append(f"| Rust engine: `evaluate_json`, owned `Decision` (rust/) | {rules} | – | "
                   f"{fmt_ns(statistics.median(base['decision_ns']))} | | |")  # fmt: skip
    out += ["", "Issue 16's goals. cedarpy rows: cedarpy's median ÷ gatehouse's (above 1: gatehouse is faster "
            "by that factor). Arrow rows: the Python path's median ÷ the Rust engine's on the same corpus "
            "(the Rust loop is one thread).", ""]
    out += ["| goal | rules | measured | met |", "|---|---:|---:|---|"]
    for rules in sorted({r.rules for r in rows}):
        g = _row(rows, rules, "gatehouse `Policy.evaluate`")
        gm = _row(rows, rules, "gatehouse `evaluate_many`, one list")
        g1 = _row(rows, rules, "gatehouse `evaluate_many`, lists of 256")
        c = _row(rows, rules, "cedarpy `is_authorized`, per call (parsed")
        ct = _row(rows, rules, "cedarpy `is_authorized`, per call (policy text")
        cb = _row(rows, rules, "cedarpy `is_authorized_batch`")
        ga = _row(rows, rules, ARROW)

        def goal(label: str, x: float | None, ok: Callable[[float], bool]) -> None:
            out.append(f"| {label} | {rules} | {_fr(x)} | {'–' if x is None else ('yes' if ok(x) else 'NO')} |")

        for slow, fast, label in [(c, g, "cedarpy `is_authorized` (parsed `PolicySet`) ÷ gatehouse `evaluate`, dict: ≥ 50"),
                            (ct, g, "cedarpy `is_authorized` (policy text) ÷ gatehouse `evaluate`, dict: ≥ 50"),
                            (cb, gm, "cedarpy `is_authorized_batch` ÷ gatehouse `evaluate_many` (all cores), dict: ≥ 20"),
                            (cb, g1, "cedarpy `is_authorized_batch` ÷ gatehouse `evaluate_many` (one thread), dict: ≥ 20")]:  # fmt: skip
            if slow and fast:
                least = 50.0 if "≥ 50" in label else 20.0
                goal(label, _ratio(slow.dict_t, fast.dict_t), lambda x: x >= least)
        ga1 = _row(rows, rules, ARROW_1)
        if rules in rust:
            v = statistics.median(rust[rules]["verdict_ns"])
            for row, label in [(ga, "all cores"), (ga1, "one thread")]:
                if row and row.text_t and row.dict_t:
                    goal(f"gatehouse `evaluate_arrow` ({label}), JSON text column ÷ Rust `decode_json` + `Verdict`: ≤ 2",
                         row.text_t.median / v, lambda x: x <= 2)  # fmt: skip
                    goal(f"gatehouse `evaluate_arrow` ({label}), struct rows ÷ Rust `decode_json` + `Verdict`: ≤ 2",
                         row.dict_t.median / v, lambda x: x <= 2)  # fmt: skip
            d = statistics.median(rust[rules]["decision_ns"])
            for row, label in [(ga, "all cores"), (ga1, "one thread")]:
                if row and row.text_t:
                    goal(f"(for scale) gatehouse `evaluate_arrow` ({label}), JSON text column ÷ Rust `evaluate_json` "
                         "(owned `Decision`): ≤ 2", row.text_t.median / d, lambda x: x <= 2)  # fmt: skip
    out += ["", "Spread between passes (fastest – slowest), and decisions per pass round:", "",
            "| path | rules | from dict | from JSON text | sample |", "|---|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        def spread(t: Timing | None) -> str:
            return "–" if t is None else f"{fmt_ns(min(t.passes))} – {fmt_ns(max(t.passes))}"

        some = r.dict_t or r.text_t
        sample = some.sample if some is not None else 0
        out.append(f"| {r.name} | {r.rules} | {spread(r.dict_t)} | {spread(r.text_t)} | {sample} |")
    for rules, base in sorted(rust.items()):
        vs, ds = base["verdict_ns"], base["decision_ns"]
        out.append(f"| Rust `Verdict` / owned `Decision` | {rules} | – | {fmt_ns(min(vs))} – {fmt_ns(max(vs))} / "
                   f"{fmt_ns(min(ds))} – {fmt_ns(max(ds))} | {base['inputs']} |")  # fmt: skip
    if 15 in stats:
        c15 = stats[15]
        out += ["", f"The corpus against the 15-rule matrix (the same counts as `benches/peers/results.md` "
                f"for the same number of inputs: corpus.py is a port of corpus.rs):", "",
                "- outcomes: " + ", ".join(f"{lv} {c15['outcome ' + lv]}" for lv in corpus.LEVELS),
                "- reasons: " + ", ".join(f"{k[7:]} {v}" for k, v in sorted(c15.items()) if k.startswith("reason "))]  # fmt: skip
    out += ["", "What each figure includes: see benches/peers/python/README.md.", ""]
    return "\n".join(out)


def _version(dist: str) -> str:
    """The installed version of a distribution."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


#: Where a profile sample's time goes: the first of these found walking the
#: stack from the leaf up names its bucket (py-spy --native frames).
PROFILE_BUCKETS = [
    ("dict -> JSON text (binding, convert.rs)", ("_native::convert::",)),
    ("engine: decode_json (JSON text into slots)", ("gatehouse::eval::decode_json", "serde_json::de", "serde_json..de")),
    ("engine: Verdict (rules, index, conditions)", ("gatehouse::eval::verdict", "gatehouse::compile::index", "gatehouse::eval::cond", "Verdict")),
    ("engine: owned Decision (names, messages, approvals)", ("gatehouse::eval::render", "gatehouse::eval::decision", "gatehouse::decision")),
    ("engine: action digest (canonical JSON, SHA-256)", ("digest", "sha2", "canonical")),
    ("binding: Decision object and its parts (decision.rs)", ("_native::decision", "_native::document", "pyclass_init")),
    ("binding: the GIL released and taken back", ("PyEval_RestoreThread", "PyEval_SaveThread", "allow_threads", "detach")),
    ("binding: other (_native)", ("_native::", "pyo3::")),
    ("allocator (malloc/free/realloc)", ("malloc", "free (libc", "realloc", "rust_alloc", "rust_dealloc")),
]  # fmt: skip


def summarize_profile(path: str, within: str = "paths.<locals>") -> str:
    """Bucket py-spy raw samples (``frame;...;frame count``) whose stack passes ``within``."""
    totals: Counter[str] = Counter()
    total = 0
    for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if not any(within in f for f in frames):
            continue
        n = int(count)
        total += n
        bucket = "Python (the loop, attribute reads, calls)"
        for frame in reversed(frames):
            hit = next((name for name, keys in PROFILE_BUCKETS if any(k in frame for k in keys)), None)
            if hit is not None:
                bucket = hit
                break
        totals[bucket] += n
    lines = [f"{total} samples in `{within}`"]
    lines += [f"{100 * n / max(total, 1):5.1f} %  {name}" for name, n in totals.most_common()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
