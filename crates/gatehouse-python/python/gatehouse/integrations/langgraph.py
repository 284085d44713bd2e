"""Gated tools for LangGraph: an action that needs approval pauses the graph with ``interrupt()``.

::

    from langgraph.checkpoint.memory import MemorySaver
    from langgraph.prebuilt import ToolNode
    from langgraph.types import Command
    from gatehouse.integrations.langgraph import gated_tool

    refund_tool = gated_tool(gate.tool(refund))    # a LangChain StructuredTool
    graph = builder.compile(checkpointer=MemorySaver())   # ToolNode([refund_tool]) inside

    out = graph.invoke({"messages": [...]}, config)
    pause = out["__interrupt__"][0].value          # {"gatehouse": "approval_required", ...}
    graph.invoke(Command(resume=[signed_approval]), config)   # in-process: signed approvals
    graph.invoke(Command(resume=pause["request_id"]), config)  # service: the request id

In-process the resume value is the signed approvals (a JWS string, a list of
them, or ``{"approvals": [...]}``), verified against the gate's trust store
for the exact action digest and spent once. With a service gate the node
creates the request (under an idempotency key derived from the thread, the
task, the tool call id and the digest, so the node's re-run on resume finds
the same request),
interrupts with its ``request_id``, and on resume waits for it, claims the
exact action, runs the tool and reports. A call that is blocked, refused,
or still without approval after ``max_rounds`` pauses becomes the tool's
error message (``status="error"``), which the model reads.

LangGraph re-runs the whole node on resume (and ToolNode runs all of a
turn's calls in one node): a call that already ran answers the re-run with
its first result instead of running again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
import threading
from collections import OrderedDict
from typing import Annotated, Any

from langchain_core.tools import StructuredTool, ToolException
from langgraph.types import interrupt

from ..gating import ApprovalDenied, ApprovalRequired, GatedTool, GateError

__all__ = ["approval_payload", "gated_tool"]


def approval_payload(error: ApprovalRequired) -> dict[str, Any]:
    """The value a gated tool interrupts with: what a reviewer needs to see.

    ``{"gatehouse": "approval_required", "tool", "action", "action_digest",
    "outcome", "reason_codes", "policy_digest", "request_id"}`` (the last
    two ``None`` when unknown). JSON-serializable, for any checkpointer.
    """
    decision = error.decision
    return {
        "gatehouse": "approval_required",
        "tool": error.tool,
        "action": error.action,
        "action_digest": error.action_digest,
        "outcome": str(error.outcome) if error.outcome is not None else None,
        "reason_codes": list(error.reason_codes),
        "policy_digest": decision.policy_digest if decision is not None else None,
        "request_id": error.request_id,
    }


def _approvals_from(resume: Any, error: ApprovalRequired) -> list[Any]:
    if isinstance(resume, Mapping) and "approvals" in resume:
        resume = resume["approvals"]
    if isinstance(resume, str):
        return [resume]
    if isinstance(resume, (list, tuple)) and all(isinstance(a, (str, Mapping)) for a in resume):
        return list(resume)
    raise _invalid_resume(error, "signed approvals (a JWS string or a list of them)")


def _request_id_from(resume: Any, error: ApprovalRequired) -> str:
    if isinstance(resume, Mapping):
        resume = resume.get("request_id")
    if not isinstance(resume, str) or not resume:
        raise _invalid_resume(error, "the request id")
    if error.request_id is not None and resume != error.request_id:
        # Only the request this very call created may release it.
        raise ApprovalDenied(
            f"gatehouse: {error.tool} was resumed with request {resume}, not {error.request_id} (REQUEST_MISMATCH)",
            tool=error.tool,
            action=error.action,
            action_digest=error.action_digest,
            outcome=error.outcome,
            reason_codes=["REQUEST_MISMATCH"],
            request_id=error.request_id,
        )
    return resume


def _invalid_resume(error: ApprovalRequired, wanted: str) -> ApprovalDenied:
    return ApprovalDenied(
        f"gatehouse: {error.tool} was resumed without {wanted} (INVALID_RESUME)",
        tool=error.tool,
        action=error.action,
        action_digest=error.action_digest,
        outcome=error.outcome,
        reason_codes=["INVALID_RESUME"],
        request_id=error.request_id,
    )


def _call_key(call_id: str | None, digest: str | None) -> str | None:
    """Stable across the node's re-runs: the thread, the task (its
    checkpoint namespace names the task id), the model's tool call id and
    the action digest. ``None`` outside a graph."""
    try:
        from langgraph.config import get_config

        conf = get_config().get("configurable", {})
    except RuntimeError:  # not inside a graph: each call is its own request
        return None
    parts = [str(conf.get("thread_id", "")), str(conf.get("checkpoint_ns", "")), str(call_id), str(digest)]
    return "gatehouse-lg-" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()


class _Done:
    """Results of gated calls that ran, by call key, so the node's re-run
    (LangGraph runs the whole node again on every resume, and ToolNode runs
    all of a turn's calls in one node) answers with the result instead of
    running the tool twice. Bounded: the oldest are forgotten first, and a
    forgotten call that is re-run meets its spent approval instead."""

    def __init__(self, size: int = 4096) -> None:
        self._results: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: str | None) -> tuple[bool, Any]:
        if key is None:
            return False, None
        with self._lock:
            if key in self._results:
                return True, self._results[key]
        return False, None

    def put(self, key: str | None, result: Any) -> None:
        if key is None:
            return
        with self._lock:
            self._results[key] = result
            while len(self._results) > self._size:
                self._results.popitem(last=False)


_DONE = _Done()


def _rounds_sync(tool: Any, args: tuple[Any, ...], kwargs: dict[str, Any], max_rounds: int) -> Any:
    key = _call_key(kwargs.pop(_CALL_ID, None), tool.digest_for(*args, **kwargs))
    done, result = _DONE.get(key)
    if done:
        return result
    result = _attempts_sync(tool, args, kwargs, max_rounds, key)
    _DONE.put(key, result)
    return result


def _attempts_sync(tool: Any, args: tuple[Any, ...], kwargs: dict[str, Any], max_rounds: int, key: str | None) -> Any:
    gate = tool.gate
    service = gate.client is not None
    approvals: list[Any] | None = None
    request_id: str | None = None
    last: ApprovalRequired | None = None
    for _ in range(max_rounds):
        try:
            if not service:
                return tool.call_with_approvals(approvals, *args, **kwargs)
            if request_id is None:
                return tool.call_service(args, kwargs, idempotency_key=key, interrupt=True)
            return tool.call_with_request(request_id, *args, **kwargs)
        except ApprovalRequired as e:
            resume = interrupt(approval_payload(e))
            if service:
                request_id = _request_id_from(resume, e)
            else:
                approvals = _approvals_from(resume, e)
            last = e
    assert last is not None  # max_rounds >= 1: the loop ran and every round raised
    raise last


async def _rounds_async(tool: Any, args: tuple[Any, ...], kwargs: dict[str, Any], max_rounds: int) -> Any:
    key = _call_key(kwargs.pop(_CALL_ID, None), tool.digest_for(*args, **kwargs))
    done, result = _DONE.get(key)
    if done:
        return result
    result = await _attempts_async(tool, args, kwargs, max_rounds, key)
    _DONE.put(key, result)
    return result


async def _attempts_async(
    tool: Any, args: tuple[Any, ...], kwargs: dict[str, Any], max_rounds: int, key: str | None
) -> Any:
    gate = tool.gate
    service = gate.client is not None
    approvals: list[Any] | None = None
    request_id: str | None = None
    last: ApprovalRequired | None = None
    for _ in range(max_rounds):
        try:
            if not service:
                return await tool.call_with_approvals(approvals, *args, **kwargs)
            if request_id is None:
                return await tool.call_service(args, kwargs, idempotency_key=key, interrupt=True)
            return await tool.call_with_request(request_id, *args, **kwargs)
        except ApprovalRequired as e:
            resume = interrupt(approval_payload(e))
            if service:
                request_id = _request_id_from(resume, e)
            else:
                approvals = _approvals_from(resume, e)
            last = e
    assert last is not None  # max_rounds >= 1: the loop ran and every round raised
    raise last


def gated_tool(tool: GatedTool, *, description: str | None = None, max_rounds: int = 4) -> StructuredTool:
    """A LangChain ``StructuredTool`` (for ``ToolNode``, ``create_react_agent``,
    ``bind_tools``) running ``tool`` (from ``Gate.tool``) behind the gate.

    Its arguments schema and description come from the tool function. An
    action needing approval interrupts the graph (up to ``max_rounds``
    times, each resumed with approvals or the request id); a refusal is the
    tool's error message to the model.
    """
    inner = getattr(tool, "__gatehouse_tool__", None)
    if inner is None:
        raise TypeError("gated_tool: pass a tool from Gate.tool (or Gate.wrap)")
    if max_rounds < 1:
        raise ValueError("gated_tool: max_rounds must be at least 1")

    def run(**kwargs: Any) -> Any:
        try:
            return _rounds_sync(inner, (), kwargs, max_rounds)
        except GateError as e:
            raise ToolException(str(e)) from e

    async def arun(**kwargs: Any) -> Any:
        try:
            return await _rounds_async(inner, (), kwargs, max_rounds)
        except GateError as e:
            raise ToolException(str(e)) from e

    target = tool.__wrapped__
    return StructuredTool.from_function(
        func=None if inner.is_async else run,
        coroutine=arun if inner.is_async else None,
        name=inner.name,
        description=description or (target.__doc__ or "").strip() or inner.name,
        args_schema=_schema(target, inner.name),
        handle_tool_error=True,
    )


#: The injected argument carrying the model's tool call id (never shown to
#: the model: LangChain fills it from the ToolCall).
_CALL_ID = "gatehouse_tool_call_id"


def _schema(func: Any, name: str) -> Any:
    """The function's arguments schema, plus the injected tool call id."""
    from langchain_core.tools import InjectedToolCallId, create_schema_from_function
    from pydantic import create_model

    from pydantic import BaseModel

    base = create_schema_from_function(name, func, parse_docstring=False)
    if not (isinstance(base, type) and issubclass(base, BaseModel)):
        raise TypeError(f"gated_tool: {name}: a pydantic v1 schema is not supported")
    if _CALL_ID in base.model_fields:
        raise ValueError(f"gated_tool: {name} has a parameter named {_CALL_ID}")
    fields: dict[str, Any] = {_CALL_ID: (Annotated[str, InjectedToolCallId], ...)}
    return create_model(name, __base__=base, **fields)
