"""Type stubs for the native engine module (``gatehouse._native``).

Everything here is re-exported from ``gatehouse``; import it from there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, final

from ._outcome import Outcome
from .types import Action, Moment

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
    "evaluate_arrow",
    "impact_batch",
    "policy_sources",
    "replay_batch",
]

__version__: str

class PolicyError(ValueError):
    """A policy that does not compile: ``diagnostics`` lists every error."""

    diagnostics: list[Diagnostic]

@final
class Label:
    """A labelled span of a diagnostic."""

    @property
    def text(self) -> str: ...
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def length(self) -> int: ...

@final
class Diagnostic:
    """One finding about a policy, with a stable code and its place."""

    @property
    def code(self) -> str:
        """The stable code (``E0201``)."""
    @property
    def name(self) -> str:
        """The code's name (``unknown-attribute``)."""
    @property
    def severity(self) -> str:
        """``"error"`` or ``"warning"``."""
    @property
    def message(self) -> str: ...
    @property
    def file(self) -> str | None: ...
    @property
    def line(self) -> int | None: ...
    @property
    def column(self) -> int | None: ...
    @property
    def labels(self) -> list[Label]: ...
    @property
    def help(self) -> str: ...
    @property
    def related(self) -> list[Diagnostic]: ...
    @property
    def is_error(self) -> bool: ...
    @property
    def text(self) -> str:
        """The plain-text rendering (what ``str()`` gives)."""

@final
class Tier:
    """The risk tier an action was placed in."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...

@final
class Reason:
    """A reason code with its message and the rule that gave it."""

    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def rule(self) -> str | None: ...

@final
class MatchedRule:
    """A rule that matched."""

    @property
    def name(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def determining(self) -> bool: ...
    @property
    def outcome(self) -> Outcome: ...
    @property
    def tier(self) -> int | None: ...
    @property
    def reasons(self) -> list[str]: ...

@final
class ApproverRole:
    """A role that may approve."""

    @property
    def name(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def limit(self) -> str | None: ...
    @property
    def escalated_from(self) -> str | None: ...

@final
class ApproverGroup:
    """Roles of which ``count`` approvals are needed."""

    @property
    def roles(self) -> list[ApproverRole]: ...
    @property
    def count(self) -> int: ...

@final
class ForbiddenApprover:
    """An identity that may not approve (separation of duties)."""

    @property
    def attribute(self) -> str: ...
    @property
    def identity(self) -> str | None: ...

@final
class Approvals:
    """Who must approve."""

    @property
    def count(self) -> int: ...
    @property
    def groups(self) -> list[ApproverGroup]: ...
    @property
    def forbidden_approvers(self) -> list[ForbiddenApprover]: ...
    @property
    def distinct_people(self) -> bool: ...
    @property
    def distinct_roles(self) -> bool: ...
    @property
    def roles(self) -> list[str]:
        """Every role that may approve, in order, without duplicates."""

@final
class Evidence:
    """Evidence required, and what the action lacks."""

    @property
    def required(self) -> list[str]: ...
    @property
    def missing(self) -> list[str]: ...
    @property
    def on_missing(self) -> Outcome | None: ...

@final
class Sample:
    """The ``sample N% for review`` share of an ``auto`` decision, and whether
    this action fell in it."""

    @property
    def rate(self) -> str: ...
    @property
    def ppm(self) -> int: ...
    @property
    def sampled(self) -> bool: ...
    @property
    def rule(self) -> str | None: ...
    @property
    def tier(self) -> int | None: ...

@final
class Timeout:
    """When a pending approval expires, and what happens then."""

    @property
    def after(self) -> str: ...
    @property
    def seconds(self) -> int: ...
    @property
    def expires_at(self) -> str | None: ...
    @property
    def on_expiry(self) -> str: ...
    @property
    def on_expiry_role(self) -> str | None: ...

@final
class Condition:
    """A condition that must hold when the action executes."""

    @property
    def condition(self) -> str: ...
    @property
    def holds(self) -> bool | None: ...

@final
class InputError:
    """What is wrong with the input, at a JSON path."""

    @property
    def path(self) -> str: ...
    @property
    def message(self) -> str: ...

@final
class PolicyRef:
    """The exact policy that decided."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def digest(self) -> str: ...

@final
class Decision:
    """The engine's answer for one action (read-only; compared by value)."""

    @property
    def outcome(self) -> Outcome: ...
    @property
    def tier(self) -> Tier | None: ...
    @property
    def reasons(self) -> list[Reason]: ...
    @property
    def reason_codes(self) -> list[str]: ...
    def has_reason(self, code: str) -> bool: ...
    @property
    def rules(self) -> list[MatchedRule]: ...
    @property
    def approvals(self) -> Approvals | None: ...
    @property
    def evidence(self) -> Evidence: ...
    @property
    def evidence_missing(self) -> list[str]: ...
    @property
    def timeout(self) -> Timeout | None: ...
    @property
    def conditions(self) -> list[Condition]: ...
    @property
    def input_errors(self) -> list[InputError]: ...
    @property
    def policy(self) -> PolicyRef: ...
    @property
    def action_digest(self) -> str | None:
        """``sha256:`` of the input's canonical JSON (RFC 8785); computed on first use."""
    @property
    def policy_digest(self) -> str: ...
    @property
    def sample(self) -> Sample | None:
        """Sampled review after the fact: ``None`` unless ``auto`` with a share."""
    @property
    def is_auto(self) -> bool: ...
    def to_json(self) -> str:
        """The decision JSON, as ``gatehouse eval`` prints it."""
    def to_dict(self) -> dict[str, Any]: ...
    def explain(self) -> str:
        """Why, in the words of ``gatehouse eval --explain``."""
    def __eq__(self, other: object) -> bool: ...

@final
class TrustStore:
    """Who may approve, with which keys (``approvers.toml``)."""

    @staticmethod
    def load(path: str | os.PathLike[str]) -> TrustStore: ...
    @staticmethod
    def from_toml(text: str, jwks: str | None = None) -> TrustStore: ...

@final
class Verification:
    """The result of verifying approvals for one action."""

    @property
    def verdict(self) -> str:
        """``"execute"``, ``"pending"``, ``"denied"`` or ``"expired"``."""
    @property
    def may_execute(self) -> bool: ...
    @property
    def action_digest(self) -> str | None: ...
    @property
    def reason_codes(self) -> list[str]: ...
    @property
    def missing_approvals(self) -> int: ...
    @property
    def missing_evidence(self) -> list[str]: ...
    def to_json(self) -> str: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class Policy:
    """A compiled policy set: load once, evaluate many actions, from any thread."""

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Policy: ...
    @staticmethod
    def from_source(text: str, name: str = "policy.gate") -> Policy: ...
    @staticmethod
    def from_sources(sources: Mapping[str, str] | Iterable[tuple[str, str]]) -> Policy: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def warnings(self) -> list[Diagnostic]: ...
    def evaluate(self, action: Action, *, now: Moment = None, strict: bool = False) -> Decision:
        """Decides one action; a bad action is ``block``/``INVALID_INPUT``, never an exception."""
    def evaluate_many(
        self, actions: Iterable[Action], *, now: Moment = None, strict: bool = False
    ) -> list[Decision]: ...
    def outcome(self, action: Action, *, now: Moment = None, strict: bool = False) -> Outcome: ...
    def verify(
        self,
        action: Action,
        approvals: Sequence[Any] | str,
        trust: TrustStore,
        *,
        now: Moment = None,
        requested_at: Moment = None,
        allow_unsigned: bool = False,
    ) -> Verification: ...
    def evaluate_arrow(
        self,
        data: Any,
        *,
        column: str | None = "action",
        now: Moment = None,
        strict: bool = False,
        digest: bool = False,
    ) -> Any:
        """Decides every row of Arrow data; a ``pyarrow.Table`` of decisions (see ``gatehouse.arrow``)."""

def action_digest(action: Action) -> str | None: ...
def check(path: str | os.PathLike[str]) -> list[Diagnostic]: ...
def check_source(
    sources: str | Mapping[str, str] | Iterable[tuple[str, str]], name: str = "policy.gate"
) -> list[Diagnostic]: ...

# gatehouse.arrow and gatehouse.history (Arrow data: typed Any, since
# pyarrow ships no type information; the result is a pyarrow.Table).
def evaluate_arrow(
    policy: Policy,
    data: Any,
    *,
    column: str | None = "action",
    now: Moment = None,
    strict: bool = False,
    digest: bool = False,
) -> Any: ...
def impact_batch(
    old: Policy, new: Policy, lines: Any, *, column: str = "text", strict: bool = False, limit: int = 0
) -> str: ...
def replay_batch(policy: Policy, lines: Any, *, column: str = "text") -> str: ...
def policy_sources(path: str | os.PathLike[str]) -> list[tuple[str, str]]: ...
