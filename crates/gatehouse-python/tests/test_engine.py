"""The engine in-process: decisions equal the CLI's, typed parts, fail-closed input, threads."""

from __future__ import annotations

import copy
import decimal
import json
import pathlib
import subprocess
import sys
import threading
import time

import pytest

import gatehouse
from gatehouse import Outcome

from conftest import EXAMPLES, POLICIES

JSON_EXAMPLES = sorted(p for p in EXAMPLES.glob("*.json"))


def cli_eval(gatehouse_bin: pathlib.Path, policy: pathlib.Path, action: pathlib.Path) -> dict:
    out = subprocess.run(
        [str(gatehouse_bin), "eval", "--policy", str(policy), str(action)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.stdout, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("example", JSON_EXAMPLES, ids=lambda p: p.stem)
def test_every_sample_action_decides_as_the_cli_does(gatehouse_bin, agent_policy, example):
    expected = cli_eval(gatehouse_bin, POLICIES / "ai-agent-actions", example)
    text = example.read_text()
    from_text = agent_policy.evaluate(text)
    assert from_text.to_dict() == expected
    # A dict gives the same decision, digest included, unless the file has
    # exact decimals a float cannot hold (none of the samples do).
    from_dict = agent_policy.evaluate(json.loads(text))
    assert from_dict.to_dict() == expected
    assert from_dict == from_text
    assert from_dict.outcome is Outcome.parse(expected["outcome"])
    assert from_dict.action_digest == expected["action_digest"]
    assert gatehouse.action_digest(json.loads(text)) == expected["action_digest"]


def test_typed_parts_of_a_decision(agent_policy):
    d = agent_policy.evaluate((EXAMPLES / "refund-large.json").read_text())
    assert d.outcome is Outcome.EXPLICIT
    assert isinstance(d.tier, gatehouse.Tier) and d.tier.id == 3
    assert d.reason_codes == ["REFUND_ABOVE_THRESHOLD", "IRREVERSIBLE_ACTION"]
    assert all(isinstance(r, gatehouse.Reason) for r in d.reasons)
    assert d.has_reason("REFUND_ABOVE_THRESHOLD") and not d.has_reason("NOPE")
    assert d.approvals is not None and d.approvals.roles == ["finance_approver"]
    assert d.approvals.count == 1
    assert d.evidence.missing == [] and "impact_estimate" in d.evidence.required
    assert d.timeout is not None and d.timeout.seconds == 24 * 3600
    assert d.policy.name == "ai-agent-actions" and d.policy_digest == agent_policy.digest
    assert any(r.determining for r in d.rules)
    assert all(isinstance(r.outcome, Outcome) for r in d.rules)
    assert "EXPLICIT" in d.explain()
    assert json.loads(d.to_json()) == d.to_dict()
    assert repr(d).startswith("Decision(outcome=explicit")


def test_outcome_orders_like_the_engine():
    assert Outcome.AUTO < Outcome.QUEUE < Outcome.EXPLICIT < Outcome.DUAL < Outcome.BLOCK
    assert max([Outcome.QUEUE, Outcome.DUAL, Outcome.AUTO]) is Outcome.DUAL
    assert str(Outcome.DUAL) == "dual" and Outcome.parse("block") is Outcome.BLOCK
    assert Outcome.EXPLICIT.needs_approval and not Outcome.QUEUE.needs_approval
    with pytest.raises(ValueError):
        Outcome.parse("maybe")


def test_outcome_alone_equals_the_decisions_outcome(agent_policy):
    for example in JSON_EXAMPLES:
        text = example.read_text()
        assert agent_policy.outcome(text) is agent_policy.evaluate(text).outcome


@pytest.mark.parametrize(
    "mutate, path",
    [
        (lambda a: a["action"].__setitem__("amount", float("nan")), "$.action.amount"),
        (lambda a: a["action"].__setitem__("amount", float("inf")), "$.action.amount"),
        (lambda a: a["action"].__setitem__("amount", decimal.Decimal("NaN")), "$.action.amount"),
        (lambda a: a["action"].__setitem__("amount", {1, 2}), "$.action.amount"),
        (lambda a: a["action"].__setitem__("amount", object()), "$.action.amount"),
        (lambda a: a["action"].__setitem__(7, "x"), "$.action"),
        (lambda a: a["action"].__setitem__("summary", "\ud800"), "$.action.summary"),
        (lambda a: a["action"].__setitem__("amount", 10**40), "$.action.amount"),
        (lambda a: a["action"].__setitem__("amount", "2500"), "$.action.amount"),
    ],
)
def test_a_bad_value_blocks_with_its_path(agent_policy, mutate, path):
    action = json.loads((EXAMPLES / "refund-large.json").read_text())
    mutate(action)
    d = agent_policy.evaluate(action)
    assert d.outcome is Outcome.BLOCK
    assert d.reason_codes == ["INVALID_INPUT"]
    assert any(e.path == path for e in d.input_errors), d.input_errors


def test_a_cycle_or_deep_nesting_blocks_instead_of_recursing(agent_policy):
    cycle: dict = {}
    cycle["a"] = cycle
    d = agent_policy.evaluate(cycle)
    assert d.outcome is Outcome.BLOCK and d.reason_codes == ["INVALID_INPUT"]
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert agent_policy.evaluate({"action": deep}).outcome is Outcome.BLOCK


def test_text_inputs_are_read_strictly(agent_policy):
    text = (EXAMPLES / "refund-large.json").read_text()
    duplicate = text.replace('"amount": 2500,', '"amount": 5, "amount": 2500,', 1)
    assert duplicate != text
    d = agent_policy.evaluate(duplicate)
    assert d.outcome is Outcome.BLOCK and d.input_errors[0].path == "$.action.amount"
    for bad in ["", "{", "[1, 2]", "null", b"\xff\xfe", "{\"action\": 1e400}"]:
        assert agent_policy.evaluate(bad).outcome is Outcome.BLOCK
    assert agent_policy.evaluate(text.encode()).outcome is Outcome.EXPLICIT


def test_exact_decimals_are_kept(agent_policy):
    """1000.0000000000000001 is above the 1000 threshold; a float rounds it to 1000.0."""
    small = json.loads((EXAMPLES / "refund-small.json").read_text())
    threshold_case = copy.deepcopy(small)
    threshold_case["action"]["amount"] = decimal.Decimal("1000.0000000000000001")
    as_float = copy.deepcopy(small)
    as_float["action"]["amount"] = 1000.0000000000000001  # == 1000.0
    exact = agent_policy.evaluate(threshold_case)
    rounded = agent_policy.evaluate(as_float)
    text = json.dumps(small).replace(
        f'"amount": {json.dumps(small["action"]["amount"])}', '"amount": 1000.0000000000000001'
    )
    assert exact.to_dict() == agent_policy.evaluate(text).to_dict()
    assert exact.has_reason("REFUND_ABOVE_THRESHOLD") and exact.approvals.roles == ["finance_approver"]
    assert not rounded.has_reason("REFUND_ABOVE_THRESHOLD") and rounded.approvals.roles == ["support_lead"]


def test_key_order_and_int_vs_float_do_not_change_the_digest(agent_policy):
    a = json.loads((EXAMPLES / "refund-large.json").read_text())
    reordered = dict(reversed(list(a.items())))
    assert gatehouse.action_digest(a) == gatehouse.action_digest(reordered)
    b = copy.deepcopy(a)
    b["action"]["amount"] = 2500.0
    assert gatehouse.action_digest(a) == gatehouse.action_digest(b)
    b["action"]["amount"] = 2500.5
    assert gatehouse.action_digest(a) != gatehouse.action_digest(b)
    assert gatehouse.action_digest({"x": float("nan")}) is None


def test_now_sets_the_deadline_and_must_have_a_zone(agent_policy):
    import datetime

    text = (EXAMPLES / "refund-large.json").read_text()
    d = agent_policy.evaluate(text, now="2026-11-22T09:00:00Z")
    assert d.timeout.expires_at == "2026-11-23T09:00:00Z"
    aware = datetime.datetime(2026, 11, 22, 9, tzinfo=datetime.timezone.utc)
    assert agent_policy.evaluate(text, now=aware).timeout.expires_at == "2026-11-23T09:00:00Z"
    with pytest.raises(ValueError):
        agent_policy.evaluate(text, now=datetime.datetime(2026, 11, 22, 9))
    with pytest.raises(ValueError):
        agent_policy.evaluate(text, now="yesterday")


def test_strict_refuses_undeclared_fields(agent_policy):
    a = json.loads((EXAMPLES / "refund-large.json").read_text())
    a["action"]["surprise"] = 1
    assert agent_policy.evaluate(a).outcome is Outcome.EXPLICIT
    strict = agent_policy.evaluate(a, strict=True)
    assert strict.outcome is Outcome.BLOCK and strict.input_errors[0].path == "$.action.surprise"


def test_evaluate_many_keeps_order_and_equals_one_by_one(agent_policy):
    actions = [p.read_text() for p in JSON_EXAMPLES] * 60  # above the parallel threshold
    actions.append({"action": float("nan")})
    many = agent_policy.evaluate_many(actions)
    assert len(many) == len(actions)
    for action, decision in zip(actions, many):
        assert decision == agent_policy.evaluate(action)
    assert many[-1].outcome is Outcome.BLOCK
    assert agent_policy.evaluate_many([]) == []
    assert len(agent_policy.evaluate_many(a for a in actions[:3])) == 3


def test_one_policy_shared_by_threads(agent_policy):
    texts = [p.read_text() for p in JSON_EXAMPLES]
    expected = [agent_policy.evaluate(t).to_json() for t in texts]
    errors: list[str] = []

    def worker() -> None:
        for _ in range(50):
            for text, want in zip(texts, expected):
                got = agent_policy.evaluate(text).to_json()
                if got != want:
                    errors.append(got)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def ticks_during(call) -> int:
    """How often another Python thread ran while `call()` ran.

    With the switch interval at 1000 s the interpreter never takes the GIL
    from a thread: the ticker runs only when the main thread gives the GIL
    up itself, which a native call does only if it releases it. So the
    count is 0 for a call that holds the GIL throughout, and above 0 for
    one that releases it (the control below proves the first half).
    """
    ticks = 0
    stop = False

    def ticker() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            time.sleep(0)  # give the GIL back at once

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000)
    thread = threading.Thread(target=ticker)
    try:
        thread.start()
        while ticks == 0:
            time.sleep(0.001)
        before = ticks
        call()
        during = ticks - before
    finally:
        stop = True
        sys.setswitchinterval(old)
        thread.join()
    return during


def test_the_gil_is_released_while_deciding(agent_policy):
    big = [list(range(2_000_000))]
    assert ticks_during(lambda: sorted(big[0], reverse=True)) == 0  # control: holds the GIL
    actions = [p.read_text() for p in JSON_EXAMPLES] * 2000
    assert ticks_during(lambda: agent_policy.evaluate_many(actions)) > 0
    large = json.loads((EXAMPLES / "refund-large.json").read_text())
    large["action"]["summary"] = "x" * 4_000_000
    text = json.dumps(large)
    assert ticks_during(lambda: [agent_policy.evaluate(text) for _ in range(3)]) > 0


def test_a_policy_that_does_not_compile_raises_with_diagnostics():
    source = 'policy "p" version "1"\nschema { action.type: string }\nrule r when action.nope == 1 then auto\ndefault auto\n'
    with pytest.raises(gatehouse.PolicyError) as err:
        gatehouse.Policy.from_source(source, name="bad.gate")
    diags = err.value.diagnostics
    assert diags and diags[0].is_error and diags[0].code.startswith("E")
    assert diags[0].file == "bad.gate" and diags[0].line == 3 and diags[0].column > 1
    assert diags[0].labels and diags[0].labels[0].line == 3
    assert diags[0].help
    assert "bad.gate:3" in str(err.value)
    assert gatehouse.check_source(source, name="bad.gate")[0].code == diags[0].code
    assert gatehouse.check_source({"bad.gate": source})[0].code == diags[0].code
    assert gatehouse.check_source([("bad.gate", source)])[0].line == 3
    with pytest.raises(ValueError):
        gatehouse.check_source({})


def test_check_a_directory_and_sources(tmp_path):
    assert [d for d in gatehouse.check(POLICIES / "ai-agent-actions") if d.is_error] == []
    (tmp_path / "a.gate").write_text("policy \"p\" version \"1\"\nthis is not a policy\n")
    found = gatehouse.check(tmp_path)
    assert found and found[0].is_error and found[0].file.endswith("a.gate")
    with pytest.raises(gatehouse.PolicyError):
        gatehouse.Policy.load(tmp_path / "missing")


def test_policy_from_sources_is_one_set():
    files = {p.name: p.read_text() for p in sorted((POLICIES / "ai-agent-actions").glob("*.gate"))}
    from_sources = gatehouse.Policy.from_sources(files)
    loaded = gatehouse.Policy.load(POLICIES / "ai-agent-actions")
    assert from_sources.digest == loaded.digest
    text = (EXAMPLES / "iam-change.json").read_text()
    assert from_sources.evaluate(text) == loaded.evaluate(text)
    with pytest.raises(ValueError):
        gatehouse.Policy.from_sources({})
