"""Values built to misbehave: subclasses whose methods lie or mutate, look-alike types, mutation mid-read.

The converter reads values through the C API, so none of the caller's
Python code runs while an action is read; whatever happens, the answer is a
decision (never an exception), and never a looser one.
"""

from __future__ import annotations

import decimal
import json

import pytest

import gatehouse
from gatehouse import Outcome

POLICY = gatehouse.Policy.from_source(
    """
policy "hostile" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
  action.tags: set of string?
}
role lead
reason BIG "big refund"
tier 0 "none" { outcome auto }
tier 2 "money" { outcome explicit  approve lead }
rule big when action.type == refund and action.amount > 1000 then tier 2 because BIG
default tier 0 because NO_RULE_MATCHED
""",
    name="hostile.gate",
)


class Exploding:
    """Raises from every hook a converter could call."""

    def __getattribute__(self, name):
        raise RuntimeError(f"touched {name}")


def test_a_dict_subclass_whose_items_lie_is_read_as_stored():
    class LyingDict(dict):
        def items(self):
            return [("action", {"type": "read"})]

        def __iter__(self):
            return iter(["action"])

        def keys(self):
            return ["action"]

    action = LyingDict(action={"type": "refund", "amount": 5000})
    d = POLICY.evaluate(action)
    assert d.outcome is Outcome.EXPLICIT and d.has_reason("BIG")


def test_a_str_subclass_is_its_stored_text():
    class Sneaky(str):
        def __str__(self):
            return "read"

        def encode(self, *a, **k):
            return b"read"

    assert POLICY.evaluate({"action": {"type": Sneaky("refund"), "amount": 5000}}).has_reason("BIG")


def test_an_int_subclass_is_its_value_whatever_its_str_says():
    class Tiny(int):
        def __str__(self):
            return "1"

        def __repr__(self):
            return "1"

        def __index__(self):
            return 1

    assert POLICY.evaluate({"action": {"type": "refund", "amount": Tiny(5000)}}).has_reason("BIG")
    huge = Tiny(10**30)
    d = POLICY.evaluate({"action": {"type": "refund", "amount": huge}})
    assert d == POLICY.evaluate('{"action": {"type": "refund", "amount": %d}}' % 10**30)


def test_a_list_subclass_is_its_stored_items():
    class Hidden(list):
        def __iter__(self):
            return iter(["nothing"])

    d = POLICY.evaluate({"action": {"type": "read", "tags": Hidden(["a", "b"])}})
    assert d == POLICY.evaluate({"action": {"type": "read", "tags": ["a", "b"]}})


def test_a_decimal_look_alike_or_subclass_is_refused():
    LookAlike = type("Decimal", (), {"__module__": "decimal", "__str__": lambda self: "1"})

    class Sub(decimal.Decimal):
        def __str__(self):
            return "1"

    for value in (LookAlike(), Sub("5000")):
        d = POLICY.evaluate({"action": {"type": "refund", "amount": value}})
        assert d.outcome is Outcome.BLOCK and d.input_errors[0].path == "$.action.amount"


def test_objects_that_explode_are_refused_not_raised():
    d = POLICY.evaluate({"action": {"type": "read", "amount": Exploding()}})
    assert d.outcome is Outcome.BLOCK and d.reason_codes == ["INVALID_INPUT"]
    assert POLICY.evaluate(Exploding()).outcome is Outcome.BLOCK


def test_a_finalizer_that_mutates_the_action_mid_read_never_raises():
    """A __del__ run by the garbage collector while the action is read empties it."""
    import gc

    action: dict = {"action": {"type": "refund", "amount": 5000}}
    for i in range(200):
        action[f"k{i}"] = [decimal.Decimal(i)]  # allocations during the read

    class Saboteur:
        def __del__(self):
            action.clear()

    for _ in range(20):
        cycle = [Saboteur()]
        cycle.append(cycle)
        del cycle
        d = POLICY.evaluate(action)
        assert isinstance(d.outcome, Outcome)
        if d.outcome is not Outcome.BLOCK:
            assert d.has_reason("BIG")  # read whole before the finalizer, never a partial action
    gc.collect()


def test_huge_and_deep_values_are_bounded():
    wide = {"action": {"type": "read", "tags": ["x" * 1000] * 20_000}}  # 20 MB as JSON
    d = POLICY.evaluate(wide)
    assert d.outcome is Outcome.BLOCK and "larger than" in d.input_errors[0].message
    nested: dict = {}
    cur = nested
    for _ in range(1000):
        cur["a"] = {}
        cur = cur["a"]
    assert POLICY.evaluate(nested).outcome is Outcome.BLOCK


@pytest.mark.parametrize("text", ["\x00", "{\"action\": {\"type\": \"read\"}}\x00", "\ufeff{}", "{" * 100_000])
def test_odd_texts_block(text):
    assert POLICY.evaluate(text).outcome is Outcome.BLOCK


def test_bytes_that_are_not_utf8_block_with_the_reason():
    d = POLICY.evaluate(b'{"action": {"type": "read\xff"}}')
    assert d.outcome is Outcome.BLOCK and "UTF-8" in d.input_errors[0].message
    assert json.loads(d.to_json())["outcome"] == "block"
