"""The gate inside a real LangGraph graph: a scripted fake chat model
(langchain_core's FakeMessagesListChatModel) issues tool calls, a ToolNode
runs the gated tools, a MemorySaver checkpoints; explicit/dual pause with
``interrupt()`` and resume with ``Command(resume=<signed approvals>)``."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command

import gatehouse
from gatehouse.integrations.langgraph import gated_tool
from gating_fixtures import Approvers, approvers  # noqa: F401  (fixture)

_threads = itertools.count()


def call(name: str, args: dict[str, Any]) -> AIMessage:
    """The model's turn: one tool call."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call-{name}", "type": "tool_call"}])


class Setup:
    def __init__(self, approvers: Approvers, **gate_options: Any) -> None:
        self.gate = approvers.gate(**gate_options)
        self.ran: list[tuple[str, Any]] = []

        @self.gate.tool
        def lookup(order: str) -> str:
            """Looks an order up."""
            self.ran.append(("lookup", order))
            return f"order {order}: shipped"

        @self.gate.tool
        def refund(order: str, amount: float) -> str:
            """Refunds an order."""
            self.ran.append(("refund", (order, amount)))
            return f"refunded {amount}"

        @self.gate.tool
        async def delete_records(table: str) -> str:
            """Deletes a table's records."""
            self.ran.append(("delete_records", table))
            return "deleted"

        @self.gate.tool
        def wire_transfer(iban: str, amount: float) -> str:
            """Wires money."""
            self.ran.append(("wire_transfer", iban))
            return "wired"

        self.refund, self.delete_records = refund, delete_records
        self.tools = [gated_tool(t) for t in (lookup, refund, delete_records, wire_transfer)]

    def graph(self, *turns: AIMessage) -> Any:
        model = FakeMessagesListChatModel(responses=[*turns, AIMessage(content="done")])

        def agent(state: MessagesState) -> dict[str, Any]:
            return {"messages": [model.invoke(state["messages"])]}

        builder = StateGraph(MessagesState)
        builder.add_node("agent", agent)
        builder.add_node("tools", ToolNode(self.tools))
        builder.add_edge(START, "agent")
        builder.add_conditional_edges("agent", tools_condition)
        builder.add_edge("tools", "agent")
        return builder.compile(checkpointer=MemorySaver())


def config() -> dict[str, Any]:
    return {"configurable": {"thread_id": f"t-{next(_threads)}"}}


def tool_messages(out: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in out["messages"] if isinstance(m, ToolMessage)]


def test_auto_runs_the_tool(approvers: Approvers) -> None:
    s = Setup(approvers)
    out = s.graph(call("lookup", {"order": "o-7"})).invoke({"messages": [("user", "where?")]}, config())
    assert "__interrupt__" not in out
    [msg] = tool_messages(out)
    assert msg.content == "order o-7: shipped"
    assert out["messages"][-1].content == "done"
    assert s.ran == [("lookup", "o-7")]


def test_block_is_the_tool_error_the_model_reads(approvers: Approvers) -> None:
    s = Setup(approvers)
    out = s.graph(call("wire_transfer", {"iban": "DE00", "amount": 5})).invoke({"messages": [("user", "x")]}, config())
    [msg] = tool_messages(out)
    assert msg.status == "error"
    assert "WIRE_TRANSFER" in str(msg.content)
    assert s.ran == []


def test_explicit_interrupts_and_resumes_with_a_signed_approval(approvers: Approvers) -> None:
    s = Setup(approvers)
    graph, cfg = s.graph(call("refund", {"order": "o-1", "amount": 250})), config()
    out = graph.invoke({"messages": [("user", "refund o-1")]}, cfg)
    [pause] = out["__interrupt__"]
    assert pause.value["gatehouse"] == "approval_required"
    assert pause.value["action_digest"] == s.refund.digest_for("o-1", 250)
    assert pause.value["outcome"] == "explicit"
    assert pause.value["policy_digest"] == approvers.policy.digest
    assert s.ran == []
    token = approvers.sign(pause.value["action"])
    out = graph.invoke(Command(resume=[token]), cfg)
    assert "__interrupt__" not in out
    assert [m.content for m in tool_messages(out)] == ["refunded 250.0"]  # the schema's float
    assert s.ran == [("refund", ("o-1", 250))]


def test_a_wrong_or_forged_approval_pauses_again(approvers: Approvers) -> None:
    s = Setup(approvers)
    graph, cfg = s.graph(call("refund", {"order": "o-1", "amount": 250})), config()
    graph.invoke({"messages": [("user", "refund o-1")]}, cfg)
    other = approvers.sign(s.refund.action_for("o-1", 25000))  # another amount
    out = graph.invoke(Command(resume=other), cfg)
    [pause] = out["__interrupt__"]
    assert "DIGEST_MISMATCH" in pause.value["reason_codes"]
    good = approvers.sign(s.refund.action_for("o-1", 250))
    head, payload, sig = good.split(".")
    forged = f"{head}.{payload}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"
    out = graph.invoke(Command(resume={"approvals": [forged]}), cfg)
    [pause] = out["__interrupt__"]
    assert "BAD_SIGNATURE" in pause.value["reason_codes"]
    assert s.ran == []
    out = graph.invoke(Command(resume=[good]), cfg)
    assert s.ran == [("refund", ("o-1", 250))]


def test_an_approval_is_spent_once_across_threads(approvers: Approvers) -> None:
    s = Setup(approvers)
    token = approvers.sign(s.refund.action_for("o-1", 250))
    first, second = config(), config()
    graph = s.graph(call("refund", {"order": "o-1", "amount": 250}))
    graph.invoke({"messages": [("user", "refund")]}, first)
    graph.invoke(Command(resume=[token]), first)
    # Another conversation (another graph, same gate) presents the same approval.
    graph = s.graph(call("refund", {"order": "o-1", "amount": 250}))
    graph.invoke({"messages": [("user", "again")]}, second)
    out = graph.invoke(Command(resume=[token]), second)
    [pause] = out["__interrupt__"]
    assert "APPROVAL_REPLAYED" in pause.value["reason_codes"]
    assert s.ran == [("refund", ("o-1", 250))]


def test_a_rejection_or_a_bad_resume_is_the_tool_error(approvers: Approvers) -> None:
    s = Setup(approvers)
    graph, cfg = s.graph(call("refund", {"order": "o-1", "amount": 250})), config()
    graph.invoke({"messages": [("user", "refund")]}, cfg)
    out = graph.invoke(Command(resume=[approvers.sign(s.refund.action_for("o-1", 250), decision="reject")]), cfg)
    [msg] = tool_messages(out)
    assert msg.status == "error" and "REJECTED" in str(msg.content)
    graph, cfg = s.graph(call("refund", {"order": "o-2", "amount": 250})), config()
    graph.invoke({"messages": [("user", "refund")]}, cfg)
    out = graph.invoke(Command(resume=42), cfg)
    [msg] = tool_messages(out)
    assert msg.status == "error" and "INVALID_RESUME" in str(msg.content)
    assert s.ran == []


def test_async_graph_dual_approval(approvers: Approvers) -> None:
    s = Setup(approvers)
    graph, cfg = s.graph(call("delete_records", {"table": "customers"})), config()

    async def main() -> None:
        out = await graph.ainvoke({"messages": [("user", "delete")]}, cfg)
        [pause] = out["__interrupt__"]
        assert pause.value["outcome"] == str(gatehouse.Outcome.DUAL)
        action = pause.value["action"]
        out = await graph.ainvoke(Command(resume=[approvers.sign(action, "bob")]), cfg)
        assert "__interrupt__" in out  # one of two people
        assert s.ran == []
        both = [approvers.sign(action, "bob"), approvers.sign(action, "carol")]
        out = await graph.ainvoke(Command(resume=both), cfg)
        assert [m.content for m in tool_messages(out)] == ["deleted"]

    asyncio.run(main())
    assert s.ran == [("delete_records", "customers")]


def test_two_calls_in_one_turn_never_run_twice(approvers: Approvers) -> None:
    """ToolNode runs both calls in one node, and LangGraph runs the whole node
    again on every resume: a call that ran in a pass whose other call paused
    would run again in the next pass. The gate answers the re-run with the
    first run's result (keyed by thread, task, tool call id and digest), so
    each refund is paid once. (Which call a resume value reaches is up to
    the threads' order; a value that reaches the other call counts for
    nothing there, and that call pauses again.)"""
    s = Setup(approvers)
    turn = AIMessage(
        content="",
        tool_calls=[
            {"name": "refund", "args": {"order": "o-1", "amount": 250}, "id": "c-1", "type": "tool_call"},
            {"name": "refund", "args": {"order": "o-2", "amount": 300}, "id": "c-2", "type": "tool_call"},
        ],
    )
    graph, cfg = s.graph(turn), config()
    out = graph.invoke({"messages": [("user", "two refunds")]}, cfg)
    asked: list[str] = []
    for _ in range(6):
        if "__interrupt__" not in out:
            break
        [pause] = out["__interrupt__"]
        asked.append(pause.value["action"]["action"]["order"])
        out = graph.invoke(Command(resume=[approvers.sign(pause.value["action"])]), cfg)
    assert "__interrupt__" not in out
    assert sorted(s.ran) == [("refund", ("o-1", 250)), ("refund", ("o-2", 300))]  # once each
    assert sorted(set(asked)) == ["o-1", "o-2"]
    assert sorted(str(m.content) for m in tool_messages(out)) == ["refunded 250.0", "refunded 300.0"]
