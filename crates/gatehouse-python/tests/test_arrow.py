"""gatehouse.arrow: a table of decisions agrees, row by row, with Policy.evaluate and the CLI."""

from __future__ import annotations

import json
import random
import subprocess
from typing import Any, Optional

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gatehouse
import gatehouse.arrow
from gatehouse import Outcome

from conftest import EXAMPLES, POLICIES


def example_actions() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]


def varied_actions(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """Shipped examples with varied types, amounts and currencies (every outcome appears)."""
    rng = random.Random(seed)
    base = example_actions()
    out = []
    for _ in range(n):
        a = json.loads(json.dumps(rng.choice(base)))
        act = a.setdefault("action", {})
        if rng.random() < 0.5:
            act["type"] = rng.choice(["refund", "pay", "send_email", "deploy", "crm_update", "read"])
        choice = rng.random()
        if choice < 0.7:
            act["amount"] = rng.choice([-5, 0, 1, 99.5, 500, 1000, 1000.01, 2500, 10_000, 10_001, 250_000])
        elif choice < 0.8:
            act.pop("amount", None)
        if rng.random() < 0.1:
            act.pop("currency", None)
        out.append(a)
    return out


def expected_row(d: gatehouse.Decision, *, digest: bool = False) -> dict[str, Any]:
    """The output row the decision stands for (the documented column meanings)."""
    row: dict[str, Any] = {
        "outcome": d.outcome.keyword,
        "outcome_rank": int(d.outcome),
        "tier": d.tier.id if d.tier else None,
        "tier_name": d.tier.name if d.tier else None,
        "reasons": d.reason_codes,
        "approvals_required": d.approvals.count if d.approvals else None,
        "roles": d.approvals.roles if d.approvals else [],
        "evidence_missing": d.evidence_missing,
        "input_errors": [{"path": e.path, "message": e.message} for e in d.input_errors],
        "policy_digest": d.policy_digest,
    }
    if digest:
        row["action_digest"] = d.action_digest
    return row


def assert_agrees(policy: gatehouse.Policy, texts: list[Optional[str]], table: pa.Table, **options: Any) -> None:
    digest = bool(options.pop("digest", False))
    assert table.num_rows == len(texts)
    assert table.column_names == list(gatehouse.arrow.COLUMNS) + (["action_digest"] if digest else [])
    for i, (text, row) in enumerate(zip(texts, table.to_pylist())):
        want = expected_row(policy.evaluate(text, **options), digest=digest)
        assert row == want, f"row {i}: {text!r}"


def test_every_column_agrees_with_evaluate_on_examples_and_invalid_rows(agent_policy):
    texts: list[Optional[str]] = [json.dumps(a) for a in varied_actions(300)]
    texts += ["not json", None, "{}", '{"action": {"type": "refund", "type": "pay"}}', "[]", "", "null", "1e400"]
    table = agent_policy.evaluate_arrow(pa.table({"action": pa.array(texts, pa.string())}), digest=True)
    assert_agrees(agent_policy, texts, table, digest=True)
    outcomes = set(table.column("outcome").to_pylist())
    assert outcomes == {"auto", "queue", "explicit", "dual", "block"}, "the data must exercise every outcome"
    # Invalid rows are blocked with INVALID_INPUT and a path, never dropped.
    for row in table.slice(300).to_pylist():
        assert row["outcome"] == "block" and "INVALID_INPUT" in row["reasons"] and row["input_errors"]


def test_strict_and_now_are_those_of_evaluate(agent_policy):
    texts = [json.dumps({**a, "undeclared": 1}) for a in varied_actions(50, seed=3)]
    table = gatehouse.arrow.evaluate(agent_policy, pa.array(texts), strict=True, now="2026-11-22T09:00:00Z")
    assert_agrees(agent_policy, texts, table, strict=True, now="2026-11-22T09:00:00Z")
    assert set(table.column("outcome").to_pylist()) == {"block"}
    lenient = gatehouse.arrow.evaluate(agent_policy, pa.array(texts))
    assert set(lenient.column("outcome").to_pylist()) != {"block"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
actions = st.fixed_dictionaries(
    {
        "action": st.fixed_dictionaries(
            {
                "type": st.sampled_from(["refund", "pay", "send_email", "deploy", "bogus"]) | json_values,
                "amount": st.integers(-10, 20_000) | st.decimals(-100, 20_000, places=2).map(float) | json_values,
                "currency": st.sampled_from(["EUR", "USD"]),
            }
        ),
        "requester": st.fixed_dictionaries({"id": st.text(max_size=5), "roles": st.lists(st.text(max_size=5))}),
    },
    optional={"environment": st.fixed_dictionaries({"name": st.sampled_from(["production", "staging"])})},
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions | json_values, min_size=1, max_size=40))
def test_generated_actions_agree_with_evaluate(agent_policy, values):
    texts = [json.dumps(v) for v in values]
    table = agent_policy.evaluate_arrow(pa.array(texts, pa.large_string()), digest=True)
    assert_agrees(agent_policy, texts, table, digest=True)


def test_a_large_batch_is_split_over_threads_and_slices_in_order(agent_policy):
    # 70,000 rows: more than one 65,536-row slice, each split over every core.
    base = [json.dumps(a) for a in varied_actions(1000, seed=11)] + ["not json", None]
    texts = [base[i % len(base)] for i in range(70_000)]
    table = agent_policy.evaluate_arrow(pa.array(texts))
    assert table.num_rows == 70_000
    want = {t: expected_row(agent_policy.evaluate(t)) for t in set(texts)}
    ranks = table.column("outcome_rank").to_pylist()
    reasons = table.column("reasons").to_pylist()
    for i, text in enumerate(texts):
        assert ranks[i] == want[text]["outcome_rank"] and reasons[i] == want[text]["reasons"], i


def test_outcome_is_a_dictionary_whose_keys_are_the_ranks(agent_policy):
    table = agent_policy.evaluate_arrow(pa.array([json.dumps(a) for a in varied_actions(40)]))
    outcome = table.column("outcome").combine_chunks()
    assert pa.types.is_dictionary(outcome.type)
    assert outcome.indices.to_pylist() == table.column("outcome_rank").to_pylist()
    for name, rank in zip(outcome.to_pylist(), outcome.indices.to_pylist()):
        assert Outcome.parse(name) == rank


def test_every_arrow_input_shape_decides_the_same(agent_policy):
    dicts = []
    for amount in [5, 1000, 1500, 20_000, -1]:
        a = json.loads((EXAMPLES / "refund-large.json").read_text())
        a["action"]["amount"] = amount
        dicts.append(a)
    texts = [json.dumps(d) for d in dicts]
    want = [agent_policy.evaluate(t).outcome.keyword for t in texts]
    assert len(set(want)) > 1

    def outcomes(table: pa.Table) -> list[str]:
        return table.column("outcome").to_pylist()

    text_table = pa.table({"id": list(range(5)), "action": texts})
    assert outcomes(agent_policy.evaluate_arrow(text_table)) == want
    assert outcomes(agent_policy.evaluate_arrow(text_table.to_batches()[0])) == want
    assert outcomes(agent_policy.evaluate_arrow(pa.RecordBatchReader.from_batches(text_table.schema, text_table.to_batches()))) == want
    assert outcomes(agent_policy.evaluate_arrow(pa.array(texts, pa.string_view()))) == want
    assert outcomes(agent_policy.evaluate_arrow(pa.chunked_array([texts[:2], texts[2:]]))) == want
    renamed = text_table.rename_columns(["id", "payload"])
    assert outcomes(agent_policy.evaluate_arrow(renamed, column="payload")) == want
    # polars through the PyCapsule interface (no pyarrow conversion by the caller).
    assert outcomes(agent_policy.evaluate_arrow(pl.DataFrame({"action": texts}))) == want
    # A struct column, and whole rows (top-level columns), written as JSON first.
    struct_table = pa.table({"action": pa.array(dicts)})
    assert outcomes(agent_policy.evaluate_arrow(struct_table)) == want
    assert outcomes(agent_policy.evaluate_arrow(pa.Table.from_pylist(dicts), column=None)) == want
    assert outcomes(agent_policy.evaluate_arrow(pl.DataFrame(dicts), column=None)) == want


def test_null_struct_rows_and_null_text_rows_are_invalid_rows(agent_policy):
    a = json.loads((EXAMPLES / "refund-small.json").read_text())
    table = agent_policy.evaluate_arrow(pa.table({"action": pa.array([a, None, a])}))
    assert table.column("outcome").to_pylist()[1] == "block"
    assert table.column("reasons").to_pylist()[1] == ["INVALID_INPUT"]
    assert table.column("outcome").to_pylist()[0] == agent_policy.evaluate(a).outcome.keyword
    text = agent_policy.evaluate_arrow(pa.array([None, None], pa.string()))
    assert text.to_pylist() == [expected_row(agent_policy.evaluate(None))] * 2


def test_empty_input_gives_an_empty_table_with_the_schema(agent_policy):
    table = agent_policy.evaluate_arrow(pa.table({"action": pa.array([], pa.string())}), digest=True)
    assert table.num_rows == 0
    assert table.column_names == list(gatehouse.arrow.COLUMNS) + ["action_digest"]


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (42, TypeError, "expected Arrow data"),
        ([json.dumps({"action": {}})], TypeError, "expected Arrow data"),
        (pa.table({"other": ["{}"]}), KeyError, "no column"),
        (pa.table({"action": [1, 2]}), TypeError, "must be JSON text"),
    ],
)
def test_unreadable_calls_raise_typed_errors(agent_policy, data, error, words):
    with pytest.raises(error, match=words):
        agent_policy.evaluate_arrow(data)


def test_a_naive_now_is_refused(agent_policy):
    import datetime

    with pytest.raises(ValueError, match="naive"):
        agent_policy.evaluate_arrow(pa.array(["{}"]), now=datetime.datetime(2026, 1, 1))


def test_rows_agree_with_the_cli_jsonl(agent_policy, gatehouse_bin, tmp_path):
    texts = [json.dumps(a) for a in varied_actions(200, seed=5)] + ["not json", "{}"]
    out = subprocess.run(
        [str(gatehouse_bin), "eval", "--policy", str(POLICIES / "ai-agent-actions"), "--jsonl"],
        input="\n".join(texts) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode in (0, 3), out.stderr
    cli = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(cli) == len(texts)
    table = agent_policy.evaluate_arrow(pa.array(texts), digest=True)
    for line, (row, d) in enumerate(zip(table.to_pylist(), cli), start=1):
        roles: list[str] = []
        for group in (d.get("approvals") or {}).get("groups", []):
            for r in group["roles"]:
                if r["name"] not in roles:
                    roles.append(r["name"])
        assert row["outcome"] == d["outcome"]
        assert row["tier"] == (d["tier"]["id"] if d.get("tier") else None)
        assert row["reasons"] == [r["code"] for r in d["reasons"]]
        assert row["approvals_required"] == (d["approvals"]["count"] if d.get("approvals") else None)
        assert row["roles"] == roles
        assert row["evidence_missing"] == d["evidence"]["missing"]
        # The CLI names the line of its input in the message; a row has no line.
        cli_errors = [
            {"path": e["path"], "message": e["message"].removeprefix(f"line {line}: ")} for e in d.get("input_errors", [])
        ]
        assert row["input_errors"] == cli_errors
        assert row["policy_digest"] == d["policy"]["digest"]
        assert row["action_digest"] == d.get("action_digest")
