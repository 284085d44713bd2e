"""Put any agent tool behind the gate: decide every call, then run, wait or refuse.

::

    import gatehouse
    from gatehouse.gating import Gate

    gate = Gate(policy=gatehouse.Policy.load("policies/ai-agent-actions"),
                trust=gatehouse.TrustStore.load("approvers.toml"),
                context={"requester": {...}, "agent": {...}, "model": {...}})

    @gate.tool
    def refund(order: str, amount: float, currency: str = "EUR") -> str:
        ...

Each call builds the action from the call's arguments (by default
``{**context, "action": {**context["action"], "type": <tool name>,
<the bound arguments>}}``, or ``action=`` a function of the same arguments),
decides it, and then:

- ``auto`` runs the tool; ``queue`` runs it (a service records it for review);
- ``explicit`` / ``dual``: in-process, asks the ``approvals`` provider for
  signed approvals, verifies them with ``Policy.verify`` against ``trust``
  and runs the tool only on ``execute``; without a provider (or without
  enough approvals) raises :class:`ApprovalRequired`, carrying the decision
  and the action digest, so an agent framework can interrupt. With a
  service (``client=``): creates the request, waits for people, claims the
  exact action, runs, reports the result;
- ``block`` raises :class:`ActionBlocked` with the reason codes.

An approval binds to the action digest (SHA-256 of the canonical JSON), so
any changed argument needs a new one (a key order never matters; numbers
compare by value, ``1 == 1.0``, as in the digest), and an approval lets one
call execute, once: the service's claim is granted once, and the in-process
gate remembers the approvals it spent.
"""

from __future__ import annotations

import datetime as _dt
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, Union, cast, overload

from ._gating_ledger import Ledger, RecentIds, approval_facts, split_spent
from ._gating_snapshot import SharedArgumentError, deep_snapshot
from ._native import Decision, Policy, TrustStore, Verification, action_digest
from ._outcome import Outcome

__all__ = [
    "ActionBlocked",
    "ApprovalDenied",
    "ApprovalProvider",
    "ApprovalRequest",
    "ApprovalRequired",
    "Gate",
    "GateError",
    "ApprovalInbox",
    "GatedTool",
    "SharedArgumentError",
]

F = TypeVar("F", bound=Callable[..., Any])

#: How long a service-mode call waits for people by default (seconds).
DEFAULT_WAIT = 300.0


class GateError(Exception):
    """A gated call that did not run. The tool body was not called.

    ``reason_codes`` name why (the decision's, the verification's, or the
    service's problem code); ``str()`` is a sentence fit to show the model.
    """

    def __init__(
        self,
        message: str,
        *,
        tool: str,
        action: Any,
        action_digest: str | None,
        outcome: Outcome | None,
        reason_codes: Sequence[str] = (),
        decision: Decision | None = None,
        verification: Verification | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.tool = tool
        """The tool's name."""
        self.action = action
        """The action decided, as the gate built it."""
        self.action_digest = action_digest
        """What an approval must name (``None`` when the action is not JSON)."""
        self.outcome = outcome
        """The decision's outcome (``None`` when unknown)."""
        self.reason_codes = tuple(reason_codes)
        """Why, as codes: ``("LARGE_REFUND",)``, ``("BAD_SIGNATURE", ...)``."""
        self.decision = decision
        """The in-process decision, when the gate decided locally."""
        self.verification = verification
        """The in-process verification of the approvals presented, if any."""
        self.request_id = request_id
        """The service's request id (service mode)."""


class ActionBlocked(GateError):
    """The policy blocks this action (``block``, or input that is not valid)."""


class ApprovalRequired(GateError):
    """The action needs approval (``explicit``/``dual``) and has none that counts yet.

    Carries ``action_digest`` (what the approval must name) and, in service
    mode, ``request_id`` (where people approve it). Frameworks catch it to
    interrupt the run and resume with approvals.
    """


class ApprovalDenied(GateError):
    """People refused the action, or its approval was lost: rejected,
    expired, cancelled, changes requested, or a claim the service refused."""


@dataclass(frozen=True)
class ApprovalRequest:
    """What an in-process approval provider is asked for."""

    tool: str
    """The tool's name."""
    action: Mapping[str, Any]
    """The action to approve, exactly as decided."""
    action_digest: str
    """What every approval must name."""
    decision: Decision
    """The decision (roles, how many approvals, evidence, timeout)."""
    policy_digest: str
    """The policy set the approval must be given under."""
    replayed: int = 0
    """How many approvals the provider returned last time were already spent."""


ApprovalList = Sequence[Union[str, Mapping[str, Any]]]


class ApprovalProvider(Protocol):
    """Returns the signed approvals for one action (JWS strings or OIDC envelopes).

    May be a plain function or a coroutine function (the latter only for
    async tools). Returning nothing means "none yet".
    """

    def __call__(self, request: ApprovalRequest) -> ApprovalList | Awaitable[ApprovalList] | None: ...


class ApprovalInbox:
    """A ready-made :class:`ApprovalProvider`: signed approvals handed in by
    the application (from its review UI, a chat button, an e-mail link),
    given back for the action digest they name.

    ``inbox.add(token)`` files an approval under its digest(s) (read from
    its payload, without trusting it: the gate verifies). Thread-safe and
    bounded: at most ``max_per_digest`` approvals per digest (the newest)
    and ``max_digests`` digests (the oldest filed is dropped first).
    """

    def __init__(self, max_per_digest: int = 16, max_digests: int = 10_000) -> None:
        if max_per_digest < 1 or max_digests < 1:
            raise ValueError("ApprovalInbox: the bounds must be at least 1")
        self._by_digest: dict[str, list[str | Mapping[str, Any]]] = {}
        self._lock = threading.Lock()
        self._max = max_per_digest
        self._max_digests = max_digests

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_digest)

    def add(self, approval: str | Mapping[str, Any]) -> list[str]:
        """Files one signed approval; returns the digests it names (empty: unreadable, not filed)."""
        facts = approval_facts(approval)
        with self._lock:
            for d in sorted(facts.digests):
                kept = self._by_digest.pop(d, [])
                kept.append(approval)
                del kept[: -self._max]
                self._by_digest[d] = kept  # re-inserted: dicts keep insertion order
                while len(self._by_digest) > self._max_digests:
                    del self._by_digest[next(iter(self._by_digest))]
        return sorted(facts.digests)

    def __call__(self, request: ApprovalRequest) -> list[str | Mapping[str, Any]]:
        """The approvals filed for ``request.action_digest``."""
        with self._lock:
            return list(self._by_digest.get(request.action_digest, ()))


def _copy_action(action: Any) -> Any:
    """A copy of a decided action for a provider or an error, never the
    call's own: what they do to it cannot reach the arguments the tool runs
    with. ``None`` when it cannot be copied (it was refused anyway)."""
    try:
        return deep_snapshot("gate", "the action", action)
    except TypeError:
        return None


def _codes(decision: Decision) -> list[str]:
    return list(decision.reason_codes)


def _default_action(name: str, context: Mapping[str, Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
    base = context.get("action", {})
    if not isinstance(base, Mapping):
        raise TypeError("gate context: `action` must be a mapping")
    act: dict[str, Any] = dict(base)
    for key, value in arguments.items():
        # The context is the operator's, the arguments are the model's: an
        # argument never replaces what the context says of the action (a
        # **kwargs tool called with customer_facing=False, say).
        if key == "type" or key in act:
            raise TypeError(f"{name}: argument {key!r} would replace the action's {key!r} from the gate's context")
        act[key] = value
    act["type"] = name
    doc: dict[str, Any] = dict(context)
    doc["action"] = act
    return doc


@dataclass
class _Spec:
    """One gated tool's fixed parts."""

    name: str
    func: Callable[..., Any]
    signature: inspect.Signature
    action: Callable[..., Mapping[str, Any]] | None
    exclude: frozenset[str]
    is_async: bool


@dataclass
class _Call:
    """One call, decided."""

    spec: _Spec
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    action: Any
    digest: str | None
    extra: dict[str, Any] = field(default_factory=dict)


class Gate:
    """Decides tool calls, in-process (``policy=``) or through ``gatehouse serve`` (``client=``).

    Args:
        policy: the policy set, for in-process decisions.
        trust: the trust store signed approvals are verified against
            (in-process ``explicit``/``dual``; without one nothing is approved).
        approvals: an :class:`ApprovalProvider`; without one an action that
            needs approval raises :class:`ApprovalRequired`.
        client: a ``gatehouse.client.GatehouseClient`` or
            ``AsyncGatehouseClient``, for service mode (exclusive with ``policy``).
        context: the parts of every action that are not the call's arguments
            (``requester``, ``agent``, ``model``, ``environment``, ``evidence``,
            defaults under ``action``).
        wait_timeout: service mode: how long a call waits for people (seconds);
            0 raises :class:`ApprovalRequired` at once, for frameworks that
            interrupt instead.
        now: the clock (a timezone-aware ``datetime``), for tests and replays.
    """

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        trust: TrustStore | None = None,
        approvals: ApprovalProvider | None = None,
        client: Any = None,
        context: Mapping[str, Any] | None = None,
        wait_timeout: float = DEFAULT_WAIT,
        now: Callable[[], _dt.datetime] | None = None,
    ) -> None:
        if (policy is None) == (client is None):
            raise ValueError("Gate: give exactly one of policy= (in-process) or client= (service)")
        if policy is not None and not isinstance(policy, Policy):
            raise TypeError("Gate: policy= must be a gatehouse.Policy")
        if trust is not None and not isinstance(trust, TrustStore):
            raise TypeError("Gate: trust= must be a gatehouse.TrustStore")
        if not (wait_timeout >= 0):
            raise ValueError("Gate: wait_timeout must be >= 0 seconds")
        self.policy = policy
        self.trust = trust
        self.approvals = approvals
        self.client = client
        self.context: Mapping[str, Any] = dict(context or {})
        self.wait_timeout = float(wait_timeout)
        self._now = now
        self.ledger = Ledger()
        self.queue_ran = RecentIds()
        """Service mode: the ``queue`` requests this gate ran (each runs once)."""

    # ------------------------------------------------------------ building --

    @overload
    def tool(self, func: F) -> GatedTool: ...
    @overload
    def tool(
        self,
        func: None = None,
        *,
        name: str | None = None,
        action: Callable[..., Mapping[str, Any]] | None = None,
        exclude: Iterable[str] = (),
    ) -> Callable[[F], GatedTool]: ...

    def tool(
        self,
        func: F | None = None,
        *,
        name: str | None = None,
        action: Callable[..., Mapping[str, Any]] | None = None,
        exclude: Iterable[str] = (),
    ) -> GatedTool | Callable[[F], GatedTool]:
        """Decorates a tool function (sync or async); usable bare or with options.

        ``name`` is ``action.type`` (default: the function's name); ``action``
        builds the whole action from the call's arguments instead of the
        default; ``exclude`` names parameters left out of the default action
        (a framework's context object, say).
        """

        def wrap(f: F) -> GatedTool:
            return self.wrap(f, name=name, action=action, exclude=exclude)

        return wrap(func) if func is not None else wrap

    def wrap(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        action: Callable[..., Mapping[str, Any]] | None = None,
        exclude: Iterable[str] = (),
    ) -> GatedTool:
        """``tool`` as a plain function: ``gate.wrap(send_email, name="send")``."""
        if not callable(func):
            raise TypeError("Gate.wrap: the tool must be callable")
        sig = inspect.signature(func)
        excluded = frozenset(exclude)
        tool_name = name or getattr(func, "__name__", None)
        if not isinstance(tool_name, str) or not tool_name:
            raise ValueError("Gate.wrap: the tool needs a name (name=)")
        if action is None and "type" in sig.parameters and "type" not in excluded:
            # The default action puts arguments beside `type`: a parameter of
            # that name would overwrite (or be overwritten by) the tool name.
            raise ValueError(f"{tool_name}: a parameter named `type` clashes with action.type; pass action=")
        context_action = self.context.get("action", {})
        clashes = sorted(
            p for p in sig.parameters
            if action is None and p not in excluded and isinstance(context_action, Mapping) and p in context_action
        )  # fmt: skip
        if clashes:
            raise ValueError(f"{tool_name}: parameters {clashes} clash with the gate context's action; pass action=")
        spec = _Spec(tool_name, func, sig, action, excluded, inspect.iscoroutinefunction(func))
        return _function(self, spec)

    # ------------------------------------------------------------ deciding --

    def now(self) -> _dt.datetime:
        """The gate's clock (UTC unless ``now=`` was given)."""
        value = self._now() if self._now is not None else _dt.datetime.now(_dt.timezone.utc)
        if value.tzinfo is None:
            raise ValueError("Gate: now() returned a naive datetime")
        return value

    def build_action(self, spec: _Spec, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        """The action for one call (raises ``TypeError`` when the arguments do not bind)."""
        bound = spec.signature.bind(*args, **kwargs)
        if spec.action is not None:
            built = spec.action(*args, **kwargs)
            if not isinstance(built, Mapping):
                raise TypeError(f"{spec.name}: action= must return a mapping")
            return dict(built)
        bound.apply_defaults()
        arguments: dict[str, Any] = {}
        for pname, value in bound.arguments.items():
            if pname in spec.exclude:
                continue
            if spec.signature.parameters[pname].kind is inspect.Parameter.VAR_KEYWORD:
                for k, v in value.items():
                    if k in arguments:
                        raise TypeError(f"{spec.name}: keyword argument {k!r} clashes with the action")
                    arguments[k] = v
            elif spec.signature.parameters[pname].kind is inspect.Parameter.VAR_POSITIONAL:
                arguments[pname] = list(value)
            else:
                arguments[pname] = value
        return _default_action(spec.name, self.context, arguments)

    def decide(self, action: Any) -> Decision:
        """The in-process decision for one action, at the gate's clock."""
        if self.policy is None:
            raise RuntimeError("Gate.decide: this gate decides through a service")
        return self.policy.evaluate(action, now=self.now())

    def snapshot(
        self, spec: _Spec, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The gate's own deep copy of one call's arguments (defaults applied).

        Everything after this (the action, the decision, the verification,
        the claim, the tool's body) sees only the copy, so a caller's object
        changed after the decision cannot change what runs. Parameters named
        in ``exclude`` are passed as they are (they are not in the action).
        Raises ``TypeError`` when the arguments do not bind, cannot be
        copied, or their copy shares a mutable object with them
        (:class:`SharedArgumentError`).
        """
        bound = spec.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        for pname, value in list(bound.arguments.items()):
            if pname not in spec.exclude:
                bound.arguments[pname] = deep_snapshot(spec.name, f"argument {pname!r}", value)
        return tuple(bound.args), dict(bound.kwargs)

    def _prepare(self, spec: _Spec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call:
        # Snapshot first: nothing is decided on (or run with) the live objects.
        args, kwargs = self.snapshot(spec, args, kwargs)
        act = self.build_action(spec, args, kwargs)
        # In-process, the decision carries the digest (``_local``); a service
        # call needs it first, to check the request is for this action.
        return _Call(spec, args, kwargs, act, action_digest(act) if self.client is not None else None)

    def _local(self, call: _Call) -> tuple[Decision, Outcome]:
        decision = self.decide(call.action)
        call.digest = decision.action_digest
        outcome = decision.outcome
        if outcome is Outcome.BLOCK or call.digest is None:
            raise ActionBlocked(
                f"gatehouse blocked {call.spec.name}: {', '.join(_codes(decision)) or 'BLOCKED'}",
                tool=call.spec.name,
                action=_copy_action(call.action),
                action_digest=call.digest,
                outcome=Outcome.BLOCK,
                reason_codes=_codes(decision),
                decision=decision,
            )
        return decision, outcome

    def _request(self, call: _Call, decision: Decision, replayed: int) -> ApprovalRequest:
        return ApprovalRequest(
            tool=call.spec.name,
            action=_copy_action(call.action),
            action_digest=cast(str, call.digest),
            decision=decision,
            policy_digest=decision.policy_digest,
            replayed=replayed,
        )

    def _required(
        self,
        call: _Call,
        decision: Decision,
        outcome: Outcome,
        verification: Verification | None = None,
        extra: Sequence[str] = (),
    ) -> ApprovalRequired:
        codes = list(verification.reason_codes) if verification is not None else _codes(decision)
        codes.extend(extra)
        return ApprovalRequired(
            f"gatehouse: {call.spec.name} needs {outcome} approval for {call.digest}"
            + (f" ({', '.join(codes)})" if codes else ""),
            tool=call.spec.name,
            action=_copy_action(call.action),
            action_digest=call.digest,
            outcome=outcome,
            reason_codes=codes,
            decision=decision,
            verification=verification,
        )

    def check_approvals(self, call: _Call, decision: Decision, outcome: Outcome, approvals: Any) -> None:
        """Verifies approvals for one call and spends them; raises unless it may execute.

        Holds the ledger's lock from the replay filter to the spend, so two
        concurrent calls can never both execute on one approval.
        """
        if approvals is None:
            approvals = []
        if isinstance(approvals, (str, bytes, Mapping)) or not isinstance(approvals, Sequence):
            approvals = [approvals] if isinstance(approvals, (str, Mapping)) else None
            if approvals is None:
                raise TypeError(f"{call.spec.name}: approvals must be a list of signed approvals")
        if self.trust is None:
            raise self._required(call, decision, outcome, extra=["NO_TRUST_STORE"])
        with self.ledger.lock:
            fresh, facts, replayed = split_spent(self.ledger, list(approvals))
            extra = ["APPROVAL_REPLAYED"] * (1 if replayed else 0)
            if not fresh:
                raise self._required(call, decision, outcome, extra=extra)
            now = self.now()
            try:
                verification = cast(Policy, self.policy).verify(call.action, fresh, self.trust, now=now)
            except ValueError as e:
                # An approvals list the engine cannot read counts for nothing.
                raise self._required(call, decision, outcome, extra=[*extra, "MALFORMED"]) from e
            verdict = verification.verdict
            if verdict == "execute" and verification.action_digest == call.digest:
                self.ledger.spend((f for f in facts if call.digest in f.digests), now)
                return
        if verdict in ("denied", "expired"):
            codes = [*verification.reason_codes, *extra]
            raise ApprovalDenied(
                f"gatehouse: {call.spec.name} was {verdict}: {', '.join(codes)}",
                tool=call.spec.name,
                action=_copy_action(call.action),
                action_digest=call.digest,
                outcome=outcome,
                reason_codes=codes,
                decision=decision,
                verification=verification,
            )
        raise self._required(call, decision, outcome, verification, extra)

    # ---------------------------------------------------------- in-process --

    def run_sync(self, call: _Call, approvals: Any = None) -> Any:
        """Decides and runs one call of a sync tool in-process.

        ``approvals`` given here (a framework resuming with them) are used
        instead of asking the provider.
        """
        decision, outcome = self._local(call)
        if outcome.needs_approval:
            if approvals is None and self.approvals is not None:
                approvals = self.approvals(self._request(call, decision, 0))
                if inspect.isawaitable(approvals):
                    close = getattr(approvals, "close", None)
                    if callable(close):
                        close()
                    raise TypeError(f"{call.spec.name}: an async approval provider needs an async tool")
            if approvals is None:
                raise self._required(call, decision, outcome)
            self.check_approvals(call, decision, outcome, approvals)
        return call.spec.func(*call.args, **call.kwargs)

    async def run_async(self, call: _Call, approvals: Any = None) -> Any:
        """``run_sync`` for an async tool (the provider may be async too)."""
        decision, outcome = self._local(call)
        if outcome.needs_approval:
            if approvals is None and self.approvals is not None:
                approvals = self.approvals(self._request(call, decision, 0))
                if inspect.isawaitable(approvals):
                    approvals = await approvals
            if approvals is None:
                raise self._required(call, decision, outcome)
            self.check_approvals(call, decision, outcome, approvals)
        return await call.spec.func(*call.args, **call.kwargs)


class GatedTool(Protocol):
    """A tool function behind a :class:`Gate`; call it like the function.

    It is a real function (``async def`` for an async tool, so frameworks
    that look at ``inspect.iscoroutinefunction`` see it right), carrying:
    ``name`` (``action.type``), ``gate``, ``action_for(...)`` (the action a
    call would be decided on), ``digest_for(...)`` (what an approval must
    name), ``call_with_approvals(approvals, ...)`` (retry a call that raised
    :class:`ApprovalRequired` with the signed approvals people gave) and
    ``call_with_request(request_id, ...)`` (resume a service request).
    """

    name: str
    gate: Gate
    __wrapped__: Callable[..., Any]

    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    def action_for(self, *args: Any, **kwargs: Any) -> Any: ...
    def digest_for(self, *args: Any, **kwargs: Any) -> str | None: ...
    def call_with_approvals(self, approvals: ApprovalList | None, *args: Any, **kwargs: Any) -> Any: ...
    def call_with_request(self, request_id: str, *args: Any, **kwargs: Any) -> Any: ...


class _Tool:
    """The logic behind one :class:`GatedTool`."""

    def __init__(self, gate: Gate, spec: _Spec) -> None:
        self.gate = gate
        self._spec = spec
        self.name = spec.name
        self.is_async = spec.is_async

    def action_for(self, *args: Any, **kwargs: Any) -> Any:
        """The action a call with these arguments would be decided on."""
        return self.gate.build_action(self._spec, args, kwargs)

    def digest_for(self, *args: Any, **kwargs: Any) -> str | None:
        """The action digest an approval for this call must name."""
        return action_digest(self.action_for(*args, **kwargs))

    def call_with_approvals(self, approvals: ApprovalList | None, *args: Any, **kwargs: Any) -> Any:
        """Calls the tool, presenting ``approvals`` (in-process mode) instead of the provider's.

        For an async tool this returns the coroutine to await.
        """
        if self.gate.client is not None:
            if approvals is not None:
                raise TypeError(f"{self.name}: a service gate takes approvals from people, not from the caller")
            return self.call_service(args, kwargs)
        call = self.gate._prepare(self._spec, args, kwargs)
        if self.is_async:
            return self.gate.run_async(call, approvals)
        return self.gate.run_sync(call, approvals)

    def call_with_request(self, request_id: str, *args: Any, **kwargs: Any) -> Any:
        """Service mode: resumes a call for the request ``request_id`` (a
        framework's interrupt resumed with it): waits, claims, runs, reports."""
        if self.gate.client is None:
            raise TypeError(f"{self.name}: call_with_request needs a service gate (client=)")
        if not isinstance(request_id, str) or not request_id:
            raise TypeError(f"{self.name}: request_id must be a non-empty string")
        return self.call_service(args, kwargs, request_id=request_id)

    def call_service(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        interrupt: bool = False,
    ) -> Any:
        """Service mode, for integrations: a new request (under
        ``idempotency_key``, so a re-run node finds its request again) or
        the existing ``request_id``. ``interrupt`` raises
        :class:`ApprovalRequired` (with the request id) instead of waiting."""
        from . import _gating_service as svc

        call = self.gate._prepare(self._spec, args, kwargs)
        call.extra["idempotency_key"] = idempotency_key
        call.extra["interrupt"] = interrupt
        if self.is_async:
            return svc.run_async(self.gate, call, request_id)
        return svc.run_sync(self.gate, call, request_id)


def _function(gate: Gate, spec: _Spec) -> GatedTool:
    tool = _Tool(gate, spec)
    gated: Callable[..., Any]
    if spec.is_async:

        @functools.wraps(spec.func)
        async def gated_async(*args: Any, **kwargs: Any) -> Any:
            return await tool.call_with_approvals(None, *args, **kwargs)

        gated = gated_async
    else:

        @functools.wraps(spec.func)
        def gated_sync(*args: Any, **kwargs: Any) -> Any:
            return tool.call_with_approvals(None, *args, **kwargs)

        gated = gated_sync
    attrs = cast(Any, gated)
    attrs.name = spec.name
    attrs.gate = gate
    attrs.action_for = tool.action_for
    attrs.digest_for = tool.digest_for
    attrs.call_with_approvals = tool.call_with_approvals
    attrs.call_with_request = tool.call_with_request
    # For the framework integrations (gatehouse.integrations.*).
    attrs.__gatehouse_tool__ = tool
    return cast(GatedTool, gated)


__all__ += ["DEFAULT_WAIT"]
