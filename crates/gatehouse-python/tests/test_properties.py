"""Property tests: a dict decides exactly as its JSON text does (the converter is the json module's equal)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gatehouse
from gatehouse import Outcome

from conftest import EXAMPLES

POLICY_TEXT = """
policy "props" version "1"
schema {
  action.type: enum { read, refund, send }
  action.amount: number?
  action.note: string?
  action.tags: set of string?
}
role lead
reason BIG "big refund"
reason TAGGED "tagged urgent"
tier 0 "none" { outcome auto }
tier 2 "money" { outcome explicit  approve lead  timeout 1h then reject }
rule big when action.type == refund and action.amount > 1000 then tier 2 because BIG
rule urgent when action.tags contains "urgent" then tier 2 because TAGGED
default tier 0 because NO_RULE_MATCHED
"""

POLICY = gatehouse.Policy.from_source(POLICY_TEXT, name="props.gate")

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
actions = st.fixed_dictionaries(
    {
        "action": st.fixed_dictionaries(
            {"type": st.sampled_from(["read", "refund", "send", "other"])},
            optional={
                "amount": st.integers(-5, 5000) | st.floats(-1e6, 1e6, allow_nan=False) | st.text(max_size=3),
                "note": st.text(max_size=30),
                "tags": st.lists(st.sampled_from(["urgent", "later", "x"]), max_size=3),
                "extra": json_values,
            },
        )
    },
    optional={"context": json_values},
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_a_dict_decides_as_its_json_text(action):
    from_dict = POLICY.evaluate(action)
    from_text = POLICY.evaluate(json.dumps(action))
    assert from_dict == from_text
    assert from_dict.to_json() == from_text.to_json()
    assert from_dict.action_digest == gatehouse.action_digest(action)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_is_decided_never_raised(value):
    decision = POLICY.evaluate(value)
    assert isinstance(decision.outcome, Outcome)
    if not isinstance(value, dict):
        assert decision.outcome is Outcome.BLOCK and decision.reason_codes == ["INVALID_INPUT"]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_integers_of_any_size_are_exact_or_refused(n):
    decision = POLICY.evaluate({"action": {"type": "refund", "amount": n}})
    text = POLICY.evaluate('{"action": {"type": "refund", "amount": %d}}' % n)
    assert decision == text
    if decision.outcome is not Outcome.BLOCK:
        assert (n > 1000) == decision.has_reason("BIG")


def test_sample_actions_round_trip():
    policy = gatehouse.Policy.load(EXAMPLES.parent.parent / "policies" / "ai-agent-actions")
    for path in EXAMPLES.glob("*.json"):
        value = json.loads(path.read_text())
        assert policy.evaluate(value) == policy.evaluate(path.read_text())
