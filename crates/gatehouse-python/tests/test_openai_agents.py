"""The gate inside the real OpenAI Agents SDK: ``Runner.run`` with a scripted
fake ``Model`` (no network, no weights) issuing tool calls. auto runs,
explicit pauses through the SDK's tool approval and runs only with a signed
approval for the exact arguments, block is refused with the reason in the
tool output the model reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from agents import Agent, ModelResponse, RunConfig, Runner, Usage, set_tracing_disabled
from agents.models.interface import Model
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from gatehouse.gating import ApprovalInbox, Gate
from gatehouse.integrations.openai_agents import gated_function_tool
from gating_fixtures import CONTEXT, Approvers, approvers  # noqa: F401  (fixture)

set_tracing_disabled(True)


class ScriptedModel(Model):
    """A fake model: each turn returns the next scripted step (a tool call
    ``("call", name, arguments)`` or a message ``("say", text)``) and keeps
    the input it was given, so a test can read what the model saw."""

    def __init__(self, steps: list[tuple[str, Any, ...]]) -> None:
        self.steps = list(steps)
        self.inputs: list[Any] = []

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
        self.inputs.append(input)
        if not self.steps:
            raise AssertionError("the model was called more often than scripted")
        step = self.steps.pop(0)
        if step[0] == "call":
            _, name, arguments = step
            item: Any = ResponseFunctionToolCall(
                id=f"fc-{len(self.inputs)}",
                call_id=f"call-{len(self.inputs)}",
                type="function_call",
                name=name,
                arguments=json.dumps(arguments),
            )
        else:
            item = ResponseOutputMessage(
                id=f"msg-{len(self.inputs)}",
                type="message",
                role="assistant",
                status="completed",
                content=[ResponseOutputText(text=step[1], type="output_text", annotations=[], logprobs=[])],
            )
        return ModelResponse(output=[item], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the scripted model does not stream")

    def tool_outputs(self) -> list[str]:
        """Every function_call_output the model was shown, in order."""
        outputs: list[str] = []
        for given in self.inputs:
            if isinstance(given, list):
                for item in given:
                    if isinstance(item, dict) and item.get("type") == "function_call_output":
                        outputs.append(str(item.get("output")))
        return outputs


class Setup:
    def __init__(self, approvers: Approvers) -> None:
        self.inbox = ApprovalInbox()
        self.gate: Gate = approvers.gate(approvals=self.inbox)
        self.ran: list[tuple[str, Any]] = []

        @self.gate.tool
        def lookup(order: str) -> str:
            """Looks an order up."""
            self.ran.append(("lookup", order))
            return f"order {order}: shipped"

        @self.gate.tool
        def refund(order: str, amount: float | int) -> str:
            """Refunds an order."""
            self.ran.append(("refund", (order, amount)))
            return f"refunded {amount}"

        @self.gate.tool
        def wire_transfer(iban: str, amount: float | int) -> str:
            """Wires money."""
            self.ran.append(("wire_transfer", iban))
            return "wired"

        # `float | int`: the SDK asks our needs_approval only when validation
        # leaves the arguments unchanged (a bare `float` turns 250 into 250.0,
        # and the SDK then asks a person for every call).
        self.refund = refund
        self.tools = [gated_function_tool(t) for t in (lookup, refund, wire_transfer)]

    def agent(self, model: ScriptedModel) -> Agent[Any]:
        return Agent(name="support", instructions="help", model=model, tools=self.tools)


def run(agent: Agent[Any], given: Any) -> Any:
    return asyncio.run(Runner.run(agent, given, run_config=RunConfig(tracing_disabled=True)))


def test_auto_runs_the_tool(approvers: Approvers) -> None:
    s = Setup(approvers)
    model = ScriptedModel([("call", "lookup", {"order": "o-7"}), ("say", "done")])
    result = run(s.agent(model), "where is o-7?")
    assert result.final_output == "done"
    assert result.interruptions == []
    assert s.ran == [("lookup", "o-7")]
    assert model.tool_outputs() == ["order o-7: shipped"]


def test_block_is_refused_with_the_reason_the_model_reads(approvers: Approvers) -> None:
    s = Setup(approvers)
    model = ScriptedModel([("call", "wire_transfer", {"iban": "DE00", "amount": 10}), ("say", "cannot")])
    result = run(s.agent(model), "wire 10")
    assert result.final_output == "cannot"
    assert s.ran == []
    [output] = model.tool_outputs()
    assert "blocked" in output and "WIRE_TRANSFER" in output


def test_explicit_pauses_and_runs_with_a_signed_approval(approvers: Approvers) -> None:
    s = Setup(approvers)
    model = ScriptedModel([("call", "refund", {"order": "o-1", "amount": 250}), ("say", "refunded")])
    agent = s.agent(model)
    paused = run(agent, "refund o-1")
    [item] = paused.interruptions
    assert item.tool_name == "refund"
    assert s.ran == []
    # A person signs this exact action; the app files it and approves in the SDK.
    s.inbox.add(approvers.sign(s.refund.action_for("o-1", 250)))
    state = paused.to_state()
    state.approve(item)
    result = run(agent, state)
    assert result.final_output == "refunded"
    assert s.ran == [("refund", ("o-1", 250))]
    assert model.tool_outputs()[-1] == "refunded 250"


def test_an_sdk_approval_without_a_signed_one_runs_nothing(approvers: Approvers) -> None:
    s = Setup(approvers)
    model = ScriptedModel([("call", "refund", {"order": "o-1", "amount": 250}), ("say", "waiting")])
    agent = s.agent(model)
    paused = run(agent, "refund o-1")
    state = paused.to_state()
    state.approve(paused.interruptions[0], always_approve=True)
    result = run(agent, state)
    assert result.final_output == "waiting"
    assert s.ran == []
    [output] = model.tool_outputs()
    assert "needs explicit approval" in output


def test_an_approval_for_other_arguments_runs_nothing(approvers: Approvers) -> None:
    s = Setup(approvers)
    s.inbox.add(approvers.sign(s.refund.action_for("o-1", 250)))
    # The model asks for 2500, not the 250 that was approved.
    model = ScriptedModel([("call", "refund", {"order": "o-1", "amount": 2500}), ("say", "no")])
    agent = s.agent(model)
    paused = run(agent, "refund o-1")
    state = paused.to_state()
    state.approve(paused.interruptions[0])
    result = run(agent, state)
    assert result.final_output == "no"
    assert s.ran == []
    assert "DIGEST_MISMATCH" in model.tool_outputs()[0] or "needs explicit approval" in model.tool_outputs()[0]


def test_an_sdk_rejection_runs_nothing(approvers: Approvers) -> None:
    s = Setup(approvers)
    s.inbox.add(approvers.sign(s.refund.action_for("o-1", 250)))
    model = ScriptedModel([("call", "refund", {"order": "o-1", "amount": 250}), ("say", "rejected")])
    agent = s.agent(model)
    paused = run(agent, "refund o-1")
    state = paused.to_state()
    state.reject(paused.interruptions[0])
    result = run(agent, state)
    assert result.final_output == "rejected"
    assert s.ran == []


def test_a_bare_float_parameter_makes_the_sdk_ask_every_time(approvers: Approvers) -> None:
    """The SDK's rule, which the gate cannot change: an argument validation
    transforms (250 -> 250.0) is paused for a person without asking
    needs_approval; the gate still decides when the call runs."""
    gate = approvers.gate()
    ran: list[float] = []

    @gate.tool
    def lookup(order: str, weight: float) -> str:
        ran.append(weight)
        return "found"

    model = ScriptedModel([("call", "lookup", {"order": "o-1", "weight": 2}), ("say", "ok")])
    agent = Agent(name="support", model=model, tools=[gated_function_tool(lookup)])
    paused = run(agent, "look")
    [item] = paused.interruptions
    state = paused.to_state()
    state.approve(item)
    assert run(agent, state).final_output == "ok"
    assert ran == [2.0]  # auto: the gate let it run without a signed approval


def test_options_owned_by_the_gate_are_refused(approvers: Approvers) -> None:
    s = Setup(approvers)
    with pytest.raises(TypeError):
        gated_function_tool(s.refund, needs_approval=False)
    with pytest.raises(TypeError):
        gated_function_tool(lambda: None)  # type: ignore[arg-type]


def test_the_context_is_in_every_action(approvers: Approvers) -> None:
    s = Setup(approvers)
    assert s.refund.action_for("o-1", 1)["requester"] == CONTEXT["requester"]
