"""Service mode of the gate: one tool call as one request of ``gatehouse serve``.

The sequence, for a request that needs people: ``create_request`` (the
service decides and holds it), ``wait_for_decision`` until it is approved or
final, ``claim`` with the exact action (the service checks the digest and
decides again under the policy in force; the claim is granted once), run the
tool, ``report_executed`` with the result or the error. ``auto`` is claimed
and reported the same way, so the audit chain shows every execution;
``queue`` runs at once, in the call that creates the request, and stays
pending for review afterwards; ``call_with_request`` on it is refused
(``QUEUE_REQUEST_USED``), as is a second run of it through one gate.

Invariant: the tool body runs only after a granted claim (or, for
``queue``, once: in the call that created the request), only for a request
whose ``action_digest`` is the digest of this very call's action and whose
``id`` is the one asked for, checked here as well as by the service, and
only with the gate's snapshot of the arguments (``Gate.snapshot``).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._outcome import Outcome

if TYPE_CHECKING:
    from .gating import Gate, GateError, _Call

#: The longest one wait call asks the service for; longer waits loop.
_WAIT_SLICE = 60.0


def _codes_of(request: Any) -> list[str]:
    decision = getattr(request, "decision", None)
    reasons = decision.get("reasons") if isinstance(decision, dict) else None
    if not isinstance(reasons, list):
        return []
    return [r["code"] for r in reasons if isinstance(r, dict) and isinstance(r.get("code"), str)]


def _outcome_of(request: Any) -> Outcome | None:
    value = getattr(request, "outcome", None)
    if isinstance(value, Outcome):
        return value
    if isinstance(value, str):
        try:
            return Outcome.parse(value)
        except ValueError:
            return None
    return None


def _error(kind: str, gate_call: _Call, message: str, request: Any, codes: list[str]) -> GateError:
    from . import gating
    from .gating import _copy_action

    cls = {"blocked": gating.ActionBlocked, "required": gating.ApprovalRequired, "denied": gating.ApprovalDenied}[kind]
    return cls(
        f"gatehouse: {gate_call.spec.name} {message}" + (f" ({', '.join(codes)})" if codes else ""),
        tool=gate_call.spec.name,
        action=_copy_action(gate_call.action),
        action_digest=gate_call.digest,
        outcome=_outcome_of(request),
        reason_codes=codes,
        request_id=getattr(request, "id", None),
    )


def _problem_code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) and code else type(exc).__name__


def _errors() -> Any:
    """The client's error classes (``gatehouse.errors``), imported when a
    service gate first needs them: in-process gates never load the client."""
    return importlib.import_module("gatehouse.errors")


def _is_problem(exc: BaseException) -> bool:
    return isinstance(exc, _errors().ProblemError)


def _is_wait_timeout(exc: BaseException) -> bool:
    return isinstance(exc, _errors().WaitTimeout)


def _check_request(call: _Call, request: Any, request_id: str | None = None) -> None:
    """Refuses a request that is not for this call's exact action, or (when
    ``request_id`` is given) not the request asked for: a confused server or
    proxy answering with another request's state must not let this one run."""
    if request_id is not None and getattr(request, "id", None) != request_id:
        message = f"was refused: asked for {request_id}, got another request"
        raise _error("denied", call, message, None, ["REQUEST_MISMATCH"])
    if call.digest is None or getattr(request, "action_digest", None) != call.digest:
        raise _error("denied", call, "was refused: the request is for another action", request, ["DIGEST_MISMATCH"])


def _settled(request: Any) -> bool:
    return bool(getattr(request, "is_approved", False) or getattr(request, "is_final", False))


def _after_decision(call: _Call, request: Any) -> str:
    """What to do with a request: "run" (queue), "claim", "wait", or raises."""
    _check_request(call, request)
    state = getattr(request, "state", None)
    outcome = _outcome_of(request)
    if state == "blocked" or outcome is Outcome.BLOCK:
        raise _error("blocked", call, "is blocked", request, _codes_of(request) or ["BLOCKED"])
    if outcome is Outcome.QUEUE:
        # A `queue` request runs once, when this call creates it; it cannot
        # be claimed (only `approved` can), so a later approval is a review,
        # never a grant to run again.
        if state == "pending":
            return "run"
        if getattr(request, "is_final", False):
            raise _error("denied", call, f"was not approved: the request is {state}", request, [str(state).upper()])
        raise _error("denied", call, f"cannot run: the queue request is {state}", request, ["QUEUE_REQUEST_USED"])
    if getattr(request, "is_approved", False) or state == "approved":
        return "claim"
    if getattr(request, "is_final", False):
        raise _error("denied", call, f"was not approved: the request is {state}", request, [str(state).upper()])
    if state in ("pending", "escalated"):
        return "wait"
    # executing, executed, ...: the one claim was granted already.
    raise _error("denied", call, f"cannot run: the request is {state}", request, ["ALREADY_CLAIMED"])


def _queue_once(gate: Gate, call: _Call, request: Any, request_id: str | None) -> None:
    """Lets a pending ``queue`` request run once: only in the call that
    created it (not through ``call_with_request``), and once per gate (an
    idempotency key's replay answers the same request again). Raises
    otherwise. The service cannot claim a ``queue`` request, so this is the
    one-execution guard for it."""
    if request_id is not None or not gate.queue_ran.add(request.id):
        message = f"cannot run: queue request {request.id} ran already"
        raise _error("denied", call, message, request, ["QUEUE_REQUEST_USED"])


def _result_report(error: BaseException | None) -> dict[str, Any]:
    if error is None:
        return {"result": "succeeded"}
    # The message is bounded: a tool's exception text can be anything.
    return {"result": "failed", "error": f"{type(error).__name__}: {str(error)[:2000]}"}


def run_sync(gate: Gate, call: _Call, request_id: str | None) -> Any:
    """One call of a sync tool through a sync ``GatehouseClient``."""
    client = gate.client
    if inspect.iscoroutinefunction(getattr(client, "create_request", None)):
        raise TypeError(f"{call.spec.name}: a sync tool needs a sync GatehouseClient")
    if call.digest is None:
        raise _error("blocked", call, "is blocked: the action is not a JSON document", None, ["INVALID_INPUT"])
    if request_id is None:
        request = client.create_request(call.action, idempotency_key=call.extra.get("idempotency_key"))
        _check_request(call, request)
        if (gate.wait_timeout == 0 or call.extra.get("interrupt")) and _after_decision(call, request) == "wait":
            raise _error("required", call, f"waits for approval of request {request.id}", request, _codes_of(request))
    else:
        request = _get_sync(client, call, request_id)
    deadline = time.monotonic() + gate.wait_timeout
    while True:
        step = _after_decision(call, request)
        if step != "wait":
            break
        left = deadline - time.monotonic()
        if left <= 0:
            raise _error("required", call, f"is still waiting for approval of request {request.id}", request, [])
        request = _wait_sync(client, call, request.id, min(left, _WAIT_SLICE))
    if step == "run":
        _queue_once(gate, call, request, request_id)
        return call.spec.func(*call.args, **call.kwargs)
    try:
        client.claim(request.id, call.action)
    except Exception as e:
        if _is_problem(e):
            raise _error("denied", call, "was not granted the claim", request, [_problem_code(e)]) from e
        raise
    return _execute_sync(client, call, request.id, lambda: call.spec.func(*call.args, **call.kwargs))


def _get_sync(client: Any, call: _Call, request_id: str) -> Any:
    try:
        request = client.get_request(request_id)
    except Exception as e:
        if _is_problem(e):
            raise _error("denied", call, f"cannot use request {request_id}", None, [_problem_code(e)]) from e
        raise
    _check_request(call, request, request_id)
    return request


def _wait_sync(client: Any, call: _Call, request_id: str, timeout: float) -> Any:
    try:
        request = client.wait_for_decision(request_id, timeout=timeout)
    except Exception as e:
        if _is_wait_timeout(e):
            last = getattr(e, "last", None)
            if last is not None:
                _check_request(call, last, request_id)
                return last
            raise _error("required", call, f"is still waiting for approval of request {request_id}", None, []) from e
        if _is_problem(e):
            raise _error("denied", call, f"cannot use request {request_id}", None, [_problem_code(e)]) from e
        raise
    _check_request(call, request, request_id)
    return request


def _execute_sync(client: Any, call: _Call, request_id: str, body: Callable[[], Any]) -> Any:
    try:
        result = body()
    except BaseException as e:
        try:
            client.report_executed(request_id, _result_report(e))
        except Exception as report_error:  # the tool's error is the one to raise
            e.add_note(f"gatehouse: reporting the failure of {request_id} failed too: {report_error!r}")
        raise
    client.report_executed(request_id, _result_report(None))
    return result


async def run_async(gate: Gate, call: _Call, request_id: str | None) -> Any:
    """One call of an async tool, through an ``AsyncGatehouseClient`` (or a
    sync client, each call in a worker thread)."""
    client = gate.client

    async def c(method: str, *args: Any, **kwargs: Any) -> Any:
        fn = getattr(client, method)
        if inspect.iscoroutinefunction(fn):
            return await fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def wait(rid: str, timeout: float) -> Any:
        try:
            request = await c("wait_for_decision", rid, timeout=timeout)
        except Exception as e:
            if _is_wait_timeout(e):
                last = getattr(e, "last", None)
                if last is not None:
                    _check_request(call, last, rid)
                    return last
                raise _error("required", call, f"is still waiting for approval of request {rid}", None, []) from e
            if _is_problem(e):
                raise _error("denied", call, f"cannot use request {rid}", None, [_problem_code(e)]) from e
            raise
        _check_request(call, request, rid)
        return request

    if call.digest is None:
        raise _error("blocked", call, "is blocked: the action is not a JSON document", None, ["INVALID_INPUT"])
    if request_id is None:
        request = await c("create_request", call.action, idempotency_key=call.extra.get("idempotency_key"))
        _check_request(call, request)
        if (gate.wait_timeout == 0 or call.extra.get("interrupt")) and _after_decision(call, request) == "wait":
            raise _error("required", call, f"waits for approval of request {request.id}", request, _codes_of(request))
    else:
        try:
            request = await c("get_request", request_id)
        except Exception as e:
            if _is_problem(e):
                raise _error("denied", call, f"cannot use request {request_id}", None, [_problem_code(e)]) from e
            raise
        _check_request(call, request, request_id)
    deadline = time.monotonic() + gate.wait_timeout
    while True:
        step = _after_decision(call, request)
        if step != "wait":
            break
        left = deadline - time.monotonic()
        if left <= 0:
            raise _error("required", call, f"is still waiting for approval of request {request.id}", request, [])
        request = await wait(request.id, min(left, _WAIT_SLICE))
    if step == "run":
        _queue_once(gate, call, request, request_id)
        return await call.spec.func(*call.args, **call.kwargs)
    try:
        await c("claim", request.id, call.action)
    except Exception as e:
        if _is_problem(e):
            raise _error("denied", call, "was not granted the claim", request, [_problem_code(e)]) from e
        raise
    try:
        result = await call.spec.func(*call.args, **call.kwargs)
    except BaseException as e:
        try:
            await c("report_executed", request.id, _result_report(e))
        except Exception as report_error:
            e.add_note(f"gatehouse: reporting the failure of {request.id} failed too: {report_error!r}")
        raise
    await c("report_executed", request.id, _result_report(None))
    return result
