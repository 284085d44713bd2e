"""The OpenAI Agents SDK with a gated tool: the run pauses for a person, and the
tool runs only with their signed approval of the exact arguments.

    python examples/python/openai_agents_gated.py

A scripted model stands in for the LLM (no network, no key): swap in your
model (`Agent(model="gpt-...")`) and keep the rest.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import gatehouse
from agents import Agent, ModelResponse, RunConfig, Runner, Usage
from agents.models.interface import Model
from approver import CONTEXT, POLICY, Approver
from gatehouse.gating import ApprovalInbox, Gate
from gatehouse.integrations.openai_agents import gated_function_tool
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText


class ScriptedModel(Model):
    """Asks for one refund, then answers with what the tool said."""

    def __init__(self, amount: float) -> None:
        self.amount = amount
        self.turn = 0

    async def get_response(self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any) -> ModelResponse:
        self.turn += 1
        if self.turn == 1:
            arguments = json.dumps({"amount": self.amount, "summary": "Refund order 55102 (damaged in transit)"})
            item: Any = ResponseFunctionToolCall(
                id="fc-1", call_id="call-1", type="function_call", name="refund", arguments=arguments
            )
        else:
            said = [i.get("output") for i in input if isinstance(i, dict) and i.get("type") == "function_call_output"]
            item = ResponseOutputMessage(
                id=f"msg-{self.turn}", type="message", role="assistant", status="completed",
                content=[ResponseOutputText(text=f"tool said: {said[-1]}", type="output_text", annotations=[])],
            )  # fmt: skip
        return ModelResponse(output=[item], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


bob = Approver()
inbox = ApprovalInbox()  # where your review UI files the signed approvals
gate = Gate(
    gatehouse.Policy.load(POLICY), trust=gatehouse.TrustStore.load(bob.trust_file), approvals=inbox, context=CONTEXT
)


# `float | int`, not `float`: the SDK consults needs_approval only for
# arguments its validation leaves unchanged (250 -> 250.0 is a change).
@gate.tool
def refund(amount: float | int, summary: str) -> str:
    """Refunds an order."""
    return f"refunded {amount} EUR"


async def main() -> None:
    config = RunConfig(tracing_disabled=True)
    agent = Agent(name="support", model=ScriptedModel(250), tools=[gated_function_tool(refund)])
    result = await Runner.run(agent, "Please refund order 55102", run_config=config)
    for item in result.interruptions:  # the gate asked for a person
        arguments = json.loads(item.arguments or "{}")
        print(f"paused: {item.tool_name}({arguments}) needs approval")
        inbox.add(bob.sign(refund.action_for(**arguments)))  # bob approves this exact call
        state = result.to_state()
        state.approve(item)
        result = await Runner.run(agent, state, run_config=config)
    print(result.final_output)

    # Beyond every limit: blocked, and the model reads why.
    agent = Agent(name="support", model=ScriptedModel(150000), tools=[gated_function_tool(refund)])
    result = await Runner.run(agent, "Refund everything", run_config=config)
    print(result.final_output)


asyncio.run(main())
