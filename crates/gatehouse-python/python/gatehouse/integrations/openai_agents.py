"""Gated tools for the OpenAI Agents SDK (``openai-agents``).

::

    from agents import Agent, Runner
    from gatehouse.gating import ApprovalInbox, Gate
    from gatehouse.integrations.openai_agents import gated_function_tool

    inbox = ApprovalInbox()
    gate = Gate(policy, trust=trust, approvals=inbox, context=...)
    agent = Agent(name="support", tools=[gated_function_tool(gate.tool(refund))])

    result = await Runner.run(agent, "refund order 55102")
    for item in result.interruptions:            # the gate asked for a person
        ...                                      # show item.arguments; a person signs
        inbox.add(signed_approval)               # `gatehouse approve`, or your review UI
        state = result.to_state(); state.approve(item)
        result = await Runner.run(agent, state)

The SDK's own human-in-the-loop pause is the hook: the tool's
``needs_approval`` asks the gate, so an ``explicit``/``dual`` call
interrupts the run (``result.interruptions``); ``auto``/``queue`` calls run
and ``block`` calls too, reaching the gate, which refuses. The SDK's
``state.approve(item)`` is only the signal to resume: the gate still
verifies a *signed* approval for the exact argument digest (from its
``approvals`` provider) and spends it once, so an approval in the SDK
without one, ``always_approve``, or changed arguments, run nothing. Every
refusal is the tool's output, which the model reads: ``gatehouse blocked
wire_transfer: ...``.

With a service gate (``Gate(client=...)``) there is no SDK pause: the tool
call waits for people through the service (``wait_timeout``), then claims,
runs and reports.
"""

from __future__ import annotations

from typing import Any

from agents import FunctionTool, RunContextWrapper, function_tool

from ..gating import GatedTool, GateError

__all__ = ["gated_function_tool", "gate_error_message"]


def _gate_error(error: BaseException | None) -> GateError | None:
    seen = 0
    while error is not None and seen < 16:
        if isinstance(error, GateError):
            return error
        error = error.__cause__ or error.__context__
        seen += 1
    return None


def gate_error_message(ctx: RunContextWrapper[Any], error: Exception) -> str:
    """The tool output the model reads when a call did not run.

    A gate refusal says why (``gatehouse blocked refund: LARGE_REFUND``);
    any other error stays as opaque as the SDK's default.
    """
    gate_error = _gate_error(error)
    if gate_error is not None:
        return str(gate_error)
    return "An error occurred while running the tool. Please try again."


def gated_function_tool(tool: GatedTool, **function_tool_options: Any) -> FunctionTool:
    """A ``FunctionTool`` running ``tool`` (from ``Gate.tool``) behind the gate.

    ``needs_approval`` is the gate's decision (in-process gates): the run
    pauses for ``explicit``/``dual`` calls. Other ``function_tool`` options
    (``name_override``, ``timeout``, ...) pass through; ``needs_approval``
    and ``failure_error_function`` are the gate's.
    """
    inner = getattr(tool, "__gatehouse_tool__", None)
    if inner is None:
        raise TypeError("gated_function_tool: pass a tool from Gate.tool (or Gate.wrap)")
    for owned in ("needs_approval", "failure_error_function"):
        if owned in function_tool_options:
            raise TypeError(f"gated_function_tool: {owned} is set by the gate")
    gate = inner.gate

    async def needs_approval(ctx: RunContextWrapper[Any], params: dict[str, Any], call_id: str) -> bool:
        if gate.client is not None:
            return False  # the service gate waits for people itself
        try:
            decision = gate.decide(inner.action_for(**params))
        except Exception:
            return True  # arguments that do not bind: a person looks (the gate refuses anyway)
        return bool(decision.outcome.needs_approval)

    # The SDK's tool name is the gate's (`action.type`), unless overridden.
    function_tool_options.setdefault("name_override", inner.name)
    return function_tool(
        tool,
        needs_approval=needs_approval,
        failure_error_function=gate_error_message,
        **function_tool_options,
    )
