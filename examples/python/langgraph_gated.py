"""LangGraph with a gated tool: the graph pauses with interrupt() and resumes
with Command(resume=<signed approvals>); a checkpointer keeps the pause.

    python examples/python/langgraph_gated.py

A scripted chat model stands in for the LLM (no network, no key).
"""

from __future__ import annotations

from typing import Any

import gatehouse
from approver import CONTEXT, POLICY, Approver
from gatehouse.gating import Gate
from gatehouse.integrations.langgraph import gated_tool
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command

bob = Approver()
gate = Gate(gatehouse.Policy.load(POLICY), trust=gatehouse.TrustStore.load(bob.trust_file), context=CONTEXT)


@gate.tool
def refund(amount: float, summary: str) -> str:
    """Refunds an order."""
    return f"refunded {amount} EUR"


ask = {"amount": 250, "summary": "Refund order 55102 (damaged in transit)"}
model = FakeMessagesListChatModel(
    responses=[
        AIMessage(content="", tool_calls=[{"name": "refund", "args": ask, "id": "call-1", "type": "tool_call"}]),
        AIMessage(content="The refund is done."),
    ]
)


def agent(state: MessagesState) -> dict[str, Any]:
    return {"messages": [model.invoke(state["messages"])]}


builder = StateGraph(MessagesState)
builder.add_node("agent", agent)
builder.add_node("tools", ToolNode([gated_tool(refund)]))
builder.add_edge(START, "agent")
builder.add_conditional_edges("agent", tools_condition)
builder.add_edge("tools", "agent")
graph = builder.compile(checkpointer=MemorySaver())

config = {"configurable": {"thread_id": "refund-55102"}}
out = graph.invoke({"messages": [("user", "Please refund order 55102")]}, config)
pause = out["__interrupt__"][0].value
print(f"paused: {pause['tool']} needs {pause['outcome']} approval of {pause['action_digest']}")

token = bob.sign(pause["action"])  # bob reviews the exact action and signs it
out = graph.invoke(Command(resume=[token]), config)
print(out["messages"][-2].content)  # the tool's answer
print(out["messages"][-1].content)
