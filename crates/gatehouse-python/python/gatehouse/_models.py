"""The client's view of a held request (``format: gatehouse.request/1``)."""

from __future__ import annotations

import dataclasses
from typing import Any
from collections.abc import Mapping

from ._outcome import Outcome
from .errors import ProtocolError

# States no transition leaves (crates/gatehouse-server/src/lifecycle.rs).
FINAL_STATES = frozenset({"verified", "rejected", "changes_requested", "cancelled", "blocked"})
# States in which the request waits for people (or for the sweeper to act
# on its deadline): `wait_for_decision` waits while the request is in one.
WAITING_STATES = frozenset({"pending", "escalated", "expired", "requested", "decided"})


@dataclasses.dataclass(frozen=True)
class Request:
    """A request held by ``gatehouse serve``, as one answer showed it.

    Immutable: a later read gives a new ``Request`` with a higher
    ``version`` (every change bumps it). ``raw`` is the whole JSON answer,
    for fields this class does not name.
    """

    id: str
    """The request id (``req_`` and 32 hex digits)."""
    state: str
    """The lifecycle state: ``pending``, ``approved``, ``executing``, ..."""
    version: int
    """Bumped by every change; compare to catch up after a reconnection."""
    outcome: Outcome
    """The decision's outcome when the request was created."""
    tier: int | None
    """The decision's tier id, if the decision has one."""
    roles: tuple[str, ...]
    """The roles that can act on it now."""
    approvals_required: dict[str, Any] | None
    """The decision's ``approvals`` object (count, roles, forbidden approvers)."""
    evidence_missing: tuple[Any, ...]
    """The evidence the policy asks for that the action lacks."""
    deadline: str | None
    """When a pending request expires (RFC 3339), if it does."""
    action_digest: str
    """The action's digest (``sha256:...``); a claim must present the same action."""
    policy_digest: str
    """The digest of the policy set the request is held under."""
    decision: dict[str, Any]
    """The decision as ``gatehouse eval`` writes it."""
    raw: dict[str, Any] = dataclasses.field(repr=False)
    """The whole answer, as JSON."""

    @property
    def sample(self) -> dict[str, Any] | None:
        """The decision's ``sample`` (``rate``, ``ppm``, ``sampled``, ``rule``,
        ``tier``): present only for an ``auto`` decision with a
        ``sample N% for review`` share; ``None`` otherwise."""
        value = self.decision.get("sample")
        return value if isinstance(value, dict) else None

    @property
    def is_final(self) -> bool:
        """Whether no further change is possible (verified, rejected,
        changes_requested, cancelled, blocked)."""
        return self.state in FINAL_STATES

    @property
    def is_approved(self) -> bool:
        """Whether the request is approved and not yet claimed."""
        return self.state == "approved"

    @property
    def is_pending(self) -> bool:
        """Whether the request still waits for people (pending, escalated)."""
        return self.state in WAITING_STATES

    @classmethod
    def from_json(cls, doc: Any) -> Request:
        """Reads a request answer; :class:`~gatehouse.errors.ProtocolError`
        when a field the client relies on is missing or of the wrong type
        (the client fails closed rather than guess a state)."""
        if not isinstance(doc, dict):
            raise ProtocolError(f"a request answer must be a JSON object, not {type(doc).__name__}")
        outcome_word = _field(doc, "outcome", str)
        try:
            outcome = Outcome.parse(outcome_word)
        except ValueError as e:
            raise ProtocolError(f"the request's outcome is unknown: {outcome_word!r}") from e
        tier = doc.get("tier")
        if tier is not None and (not isinstance(tier, int) or isinstance(tier, bool)):
            raise ProtocolError("the request's `tier` is not an integer")
        approvals = doc.get("approvals_required")
        if approvals is not None and not isinstance(approvals, dict):
            raise ProtocolError("the request's `approvals_required` is not an object")
        deadline = doc.get("deadline")
        if deadline is not None and not isinstance(deadline, str):
            raise ProtocolError("the request's `deadline` is not a string")
        decision = doc.get("decision", {})
        if not isinstance(decision, dict):
            raise ProtocolError("the request's `decision` is not an object")
        roles = doc.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ProtocolError("the request's `roles` is not a list of strings")
        missing = doc.get("evidence_missing", [])
        if not isinstance(missing, list):
            raise ProtocolError("the request's `evidence_missing` is not a list")
        version = _field(doc, "version", int)
        if isinstance(version, bool) or version < 0:
            raise ProtocolError("the request's `version` is not a non-negative integer")
        return cls(
            id=_field(doc, "id", str),
            state=_field(doc, "state", str),
            version=version,
            outcome=outcome,
            tier=tier,
            roles=tuple(roles),
            approvals_required=approvals,
            evidence_missing=tuple(missing),
            deadline=deadline,
            action_digest=_field(doc, "action_digest", str),
            policy_digest=_field(doc, "policy_digest", str),
            decision=decision,
            raw=doc,
        )


def _field(doc: Mapping[str, Any], name: str, kind: type) -> Any:
    value = doc.get(name)
    if not isinstance(value, kind):
        raise ProtocolError(f"the request answer has no {kind.__name__} `{name}`")
    return value
