"""The peers harness's corpus and policy sizes, ported from Rust to Python.

A line-for-line port of ``benches/peers/src/corpus.rs`` (the fixed-seed LCG
and the draws, in the same order) and of the ``source()`` functions of
``src/gate.rs``, ``src/cedar.rs`` and ``src/rego.rs``. Invariant: for every
``n``, ``generate(n)`` yields the same documents as the Rust harness's
``corpus::generate(n)``, so the Python benchmark and the Rust one decide
the same inputs. ``benches/peers/results.md`` lists the outcome and reason
counts the Rust harness saw on its first 10 000 inputs;
``crates/gatehouse-python/tests/test_peers_agreement.py`` checks that this
port reproduces them exactly (any drift in a draw would change them).

Why a port rather than a dump from the Rust harness: the Rust harness needs
Cedar and regorus compiled (minutes on 2 cores), while the agreement test
must run in the Python suite with nothing but the wheel.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence
from typing import Any, TypeVar

#: The directory with ``matrix.gate``, ``matrix.cedar`` and ``matrix.rego``.
POLICIES = pathlib.Path(__file__).resolve().parent.parent / "policies"

#: The seed of the corpus ("gatehous"), as in corpus.rs.
SEED = 0x6761_7465_686F_7573
#: ``sys:<k>`` targets are drawn with ``k < SYS_RANGE``.
SYS_RANGE = 12_000
_MASK = (1 << 64) - 1

#: Outcome levels in the harness's order (auto < queue < explicit < dual < block).
LEVELS = ("auto", "queue", "explicit", "dual", "block")

T = TypeVar("T")


class Lcg:
    """Knuth's MMIX LCG with 64-bit wrapping arithmetic; the high bits are used."""

    def __init__(self, seed: int) -> None:
        """Start the generator at ``seed`` (taken modulo 2**64)."""
        self.state = seed & _MASK

    def next(self) -> int:
        """The next 31-bit draw (the state's top bits, as ``>> 33`` in Rust)."""
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & _MASK
        return self.state >> 33

    def below(self, n: int) -> int:
        """Uniform in ``0..n`` (modulo, exactly as the Rust harness)."""
        return self.next() % n

    def chance(self, percent: int) -> bool:
        """True with probability ``percent``/100."""
        return self.below(100) < percent

    def pick(self, items: Sequence[T]) -> T:
        """One element of ``items``."""
        return items[self.below(len(items))]


TYPES = (
    "read",
    "read",
    "summarize",
    "draft",
    "send",
    "send",
    "update",
    "delete",
    "refund",
    "refund",
    "refund",
    "pay",
    "deploy",
)
AMOUNTS_AT_THRESHOLDS = (
    0, 1, 99, 100, 101, 999, 1000, 1001, 9999, 10_000, 10_001, 99_999, 100_000, 100_001, 250_000,
)  # fmt: skip
CLASSES = ("public", "internal", "pii", "phi", "financial")
PLAIN_TARGETS = (
    "crm:accounts",
    "crm:tickets",
    "wiki:handbook",
    "payments:eu",
    "email:outbound",
    "repo:gatehouse",
    "production:notes",  # not "prod:": a prefix test must not match it
    "iam",  # no colon: not "iam:"
)


def one_input(rng: Lcg, i: int) -> dict[str, Any]:
    """Input number ``i``; every draw happens in the order corpus.rs makes it."""
    kind = rng.pick(TYPES)
    scope = "internal" if rng.chance(50) else "external"
    r = rng.below(100)
    if r <= 17:
        target = "prod:" + rng.pick(("db", "api", "queue", "config"))
    elif r <= 27:
        target = f"iam:role-{rng.below(50)}"
    elif r <= 57:
        target = f"sys:{rng.below(SYS_RANGE)}"
    else:
        target = rng.pick(PLAIN_TARGETS)
    action: dict[str, Any] = {"type": kind, "scope": scope, "target": target}
    if not rng.chance(25):
        if rng.chance(35):
            amount = rng.pick(AMOUNTS_AT_THRESHOLDS)
        else:
            bucket = rng.below(4)
            bound = (1_000, 12_000, 120_000, 300_000)[bucket]
            amount = rng.below(bound)
        action["amount"] = amount
    # One draw per class, in order (Rust's `filter` calls the closure for each).
    action["data_classes"] = [c for c in CLASSES if rng.chance(18)]
    if rng.chance(50):
        action["summary"] = f"proposed action #{i}"

    doc: dict[str, Any] = {"action": action}
    if rng.chance(20):
        confidence = rng.below(70)
    elif rng.chance(10):
        confidence = rng.pick((69, 70, 71))
    else:
        confidence = 70 + rng.below(31)
    doc["model"] = {"confidence": confidence}
    if not rng.chance(30):
        doc["change_window"] = {"open": rng.chance(50)}
    doc["requester"] = {"id": f"user-{rng.below(500)}"}
    doc["agent"] = {"owner": f"owner-{rng.below(40)}"}
    if not rng.chance(20):
        ev: dict[str, str] = {}
        for field in ("impact_estimate", "rollback_plan", "source_citation"):
            d = rng.below(100)
            if d <= 29:
                continue
            ev[field] = "" if d <= 44 else f"{field} for #{i}"
        doc["evidence"] = ev
    return doc


def generate(n: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The first ``n`` inputs, as dicts and as compact JSON text (a prefix for any ``n``)."""
    if n < 0:
        raise ValueError(f"the corpus size must be >= 0, not {n}")
    rng = Lcg(SEED)
    values = [one_input(rng, i) for i in range(n)]
    texts = [json.dumps(v, separators=(",", ":")) for v in values]
    return values, texts


def gate_source(extra: int) -> str:
    """``matrix.gate`` plus ``extra`` generated ``sys:<k>`` rules (src/gate.rs)."""
    parts = [(POLICIES / "matrix.gate").read_text(encoding="utf-8")]
    if extra > 0:
        parts.append("\n# Generated: one rule per system, most inputs match none.\n")
    for k in range(extra):
        parts.append(
            f'reason SYS_{k} "access to system {k}"\n'
            f'rule sys_{k} when action.target == "sys:{k}" then tier 3 because SYS_{k}\n'
        )
    return "".join(parts)


def cedar_source(extra: int) -> str:
    """``matrix.cedar`` plus ``extra`` generated permits (src/cedar.rs)."""
    parts = [(POLICIES / "matrix.cedar").read_text(encoding="utf-8")]
    for k in range(extra):
        parts.append(
            f'@id("sys_{k}") @level("explicit") @reason("SYS_{k}")\n'
            f'permit (principal, action, resource) when {{ context.action.target == "sys:{k}" }};\n'
        )
    return "".join(parts)


def rego_source(extra: int) -> str:
    """``matrix.rego`` plus ``extra`` one-line ``hits`` rules (src/rego.rs)."""
    parts = [(POLICIES / "matrix.rego").read_text(encoding="utf-8")]
    for k in range(extra):
        parts.append(
            f'hits contains {{"level": 2, "reason": "SYS_{k}", "evidence": []}} '
            f'if input.action.target == "sys:{k}"\n'
        )
    return "".join(parts)
