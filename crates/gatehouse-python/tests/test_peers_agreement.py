"""The peers benchmark's agreement check, on a small corpus (no timing).

benches/peers/python/bench.py times gatehouse beside cedarpy and opa-eval;
it may only do so because every path gives the same outcome and reason set
on every input. These tests run that check in the suite, and check that the
check itself catches a wrong answer and that the Python corpus is the Rust
harness's corpus.
"""

from __future__ import annotations

import re
import sys
import types
from collections import Counter

import pytest

from conftest import ROOT

PEERS = ROOT / "benches" / "peers"
sys.path.insert(0, str(PEERS / "python"))

import bench  # noqa: E402
import corpus  # noqa: E402

#: Small enough to keep the suite quick, large enough that every rule, both
#: engine codes and every outcome occur (test_small_corpus_covers_the_matrix).
N = 600


@pytest.fixture(scope="module")
def small() -> tuple[list[dict], list[str]]:
    return corpus.generate(N)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("peers")


@pytest.mark.parametrize("extra", [0, 1000])
def test_every_path_agrees(extra: int, small, workdir) -> None:
    values, texts = small
    engines = bench.compile_engines(extra, workdir)
    paths = bench.paths(engines, arrow=hasattr(engines.gate, "evaluate_arrow"))
    names = {p.engine for p in paths}
    assert names == {"gatehouse", "cedarpy", "opa-eval"}
    assert bench.disagreement(engines, paths, values, texts) is None


def test_small_corpus_covers_the_matrix(small, workdir) -> None:
    """Agreement on a corpus where nothing fires would prove little."""
    values, _ = small
    gate = bench.compile_engines(0, workdir).gate
    outcomes: Counter[int] = Counter()
    reasons: Counter[str] = Counter()
    for v in values:
        level, codes = bench.gate_verdict(gate.evaluate(v))
        outcomes[level] += 1
        reasons.update(codes)
    assert set(outcomes) == {0, 1, 2, 3, 4}
    rules = set(re.findall(r"because ([A-Z0-9_]+)", corpus.gate_source(0)))
    assert rules | {"EVIDENCE_MISSING"} == set(reasons), rules ^ set(reasons)


def test_the_check_catches_a_wrong_engine(small, workdir) -> None:
    """A gatehouse policy with one threshold moved must be reported, with the input."""
    values, texts = small
    engines = bench.compile_engines(0, workdir)
    wrong = engines.gate_source.replace("action.amount > 10_000", "action.amount > 10_001")
    assert wrong != engines.gate_source
    import gatehouse

    engines.gate = gatehouse.Policy.from_source(wrong, "matrix.gate")
    paths = bench.paths(engines, arrow=False)
    report = bench.disagreement(engines, paths, values, texts)
    assert report is not None
    first = report.splitlines()[0]
    i = int(re.search(r"input (\d+):", first).group(1))
    assert values[i]["action"].get("amount") == 10_001
    # Cedar and opa-eval differ from the moved reference; gatehouse's own paths do not.
    marked = {line[3:].split(":")[0] for line in report.splitlines() if line.startswith(" ! ")}
    assert any(m.startswith("cedarpy") for m in marked) and any(m.startswith("opa-eval") for m in marked)
    assert not any(m.startswith("gatehouse") for m in marked)


def test_cedar_errors_are_disagreements() -> None:
    """An unguarded read of an absent attribute errors in Cedar: never a silent skip."""
    cedar = bench.Cedar(
        '@id("big") @level("dual") @reason("BIG")\n'
        "permit (principal, action, resource) when { context.action.amount > 10 };\n"
    )
    import cedarpy

    result = cedarpy.is_authorized(bench.Cedar.request({"action": {}}), cedar.policies, cedar.entities)
    with pytest.raises(AssertionError, match="Cedar policy evaluation errors"):
        cedar.verdict(result)
    allowed = cedarpy.is_authorized(bench.Cedar.request({"action": {"amount": 11}}), cedar.policies, cedar.entities)
    assert cedar.verdict(allowed) == (3, frozenset({"BIG"}))


def test_corpus_is_the_rust_harness_corpus() -> None:
    """corpus.py reproduces the outcome and reason counts benches/peers/results.md reports.

    The Rust harness (corpus.rs) wrote those counts; one draw out of place
    in the port changes them.
    """
    text = (PEERS / "results.md").read_text(encoding="utf-8")
    n = int(re.search(r"\((\d+) inputs,", text).group(1))
    outcomes_line = re.search(r"^- outcomes: (.*)$", text, re.M).group(1)
    reasons_line = re.search(r"^- reasons: (.*)$", text, re.M).group(1)
    want_outcomes = {k: int(v) for k, v in (p.rsplit(" ", 1) for p in outcomes_line.split(", "))}
    want_reasons = {k: int(v) for k, v in (p.rsplit(" ", 1) for p in reasons_line.split(", "))}
    _, texts = corpus.generate(n)
    import gatehouse

    gate = gatehouse.Policy.from_source(corpus.gate_source(0), "matrix.gate")
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for d in gate.evaluate_many(texts):
        outcomes[corpus.LEVELS[int(d.outcome)]] += 1
        reasons.update(d.reason_codes)
    assert dict(outcomes) == want_outcomes
    assert dict(reasons) == want_reasons


def test_lcg_matches_the_rust_arithmetic() -> None:
    """64-bit wrapping: the state never leaves u64, and draws are the top 31 bits."""
    rng = corpus.Lcg(corpus.SEED)
    state = corpus.SEED
    for _ in range(1000):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        assert rng.next() == state >> 33
    assert corpus.generate(5)[1] == corpus.generate(50)[1][:5]  # a prefix for any n


def test_opa_source_refuses_a_changed_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    """The regorus 0.2.8 rewrite must apply exactly, or fail loudly."""
    monkeypatch.setattr(bench, "corpus", types.SimpleNamespace(rego_source=lambda extra: "package gate\n"))
    with pytest.raises(ValueError, match="matrix.rego changed"):
        bench.opa_source(0)
