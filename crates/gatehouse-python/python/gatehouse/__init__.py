"""gatehouse for Python: decide how much human oversight an AI agent's action needs.

The engine runs in-process (Rust, through PyO3; the GIL is released while it
decides)::

    import gatehouse

    policy = gatehouse.Policy.load("policies/ai-agent-actions")
    decision = policy.evaluate({"action": {"type": "refund", "amount": 2500}, ...})
    if decision.outcome is gatehouse.Outcome.AUTO:
        ...

``gatehouse.client`` talks to ``gatehouse serve`` (``pip install
'gatehouse-py[client]'``), ``gatehouse.gating`` puts agent tools behind the
gate, ``gatehouse.arrow`` decides Arrow batches and ``gatehouse.history``
replays audit histories on Ray Data.
"""

from __future__ import annotations

from ._outcome import Outcome
from ._native import (
    Approvals,
    ApproverGroup,
    ApproverRole,
    Condition,
    Decision,
    Diagnostic,
    Evidence,
    ForbiddenApprover,
    InputError,
    Label,
    MatchedRule,
    Policy,
    PolicyError,
    PolicyRef,
    Reason,
    Sample,
    Tier,
    Timeout,
    TrustStore,
    Verification,
    __version__,
    action_digest,
    check,
    check_source,
)

__all__ = [
    "Approvals",
    "ApproverGroup",
    "ApproverRole",
    "Condition",
    "Decision",
    "Diagnostic",
    "Evidence",
    "ForbiddenApprover",
    "InputError",
    "Label",
    "MatchedRule",
    "Outcome",
    "Policy",
    "PolicyError",
    "PolicyRef",
    "Reason",
    "Sample",
    "Tier",
    "Timeout",
    "TrustStore",
    "Verification",
    "__version__",
    "action_digest",
    "check",
    "check_source",
]
