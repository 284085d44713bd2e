"""gatehouse.gating through a real ``gatehouse serve`` (tests/server.py):
create the request, wait for people, claim the exact action, run, report."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command

import gatehouse
from gatehouse.client import AsyncGatehouseClient, GatehouseClient
from gatehouse.gating import ActionBlocked, ApprovalDenied, ApprovalRequired, Gate
from gatehouse.integrations.langgraph import gated_tool
from server import GatehouseServer, example

_REFUND = example("refund-small.json")
# Everything of the shipped refund example but the call's own arguments.
CONTEXT: dict[str, Any] = {k: v for k, v in _REFUND.items() if k != "action"}
CONTEXT["action"] = {k: v for k, v in _REFUND["action"].items() if k not in ("type", "amount", "summary")}


class Tools:
    def __init__(self, client: Any, wait_timeout: float) -> None:
        self.gate = Gate(client=client, context=CONTEXT, wait_timeout=wait_timeout)
        self.ran: list[Any] = []

        @self.gate.tool
        def refund(amount: float, summary: str) -> str:
            """Refunds an order."""
            self.ran.append(amount)
            if summary == "explode":
                raise RuntimeError("payment provider down")
            return f"refunded {amount}"

        self.refund = refund


@pytest.fixture
def agent(gatehouse_server: GatehouseServer) -> Any:
    with GatehouseClient(gatehouse_server.base_url, gatehouse_server.agent) as client:
        yield client


@pytest.fixture
def alice(gatehouse_server: GatehouseServer) -> Any:
    with GatehouseClient(gatehouse_server.base_url, gatehouse_server.alice) as client:
        yield client


def approve(alice: Any, request_id: str) -> None:
    alice.review(request_id, "approve", reason="order checked")


def test_the_shipped_policy_decides_the_test_actions(agent_policy: gatehouse.Policy) -> None:
    tools = Tools(object(), 0)
    assert agent_policy.evaluate(tools.refund.action_for(250, "damaged")).outcome is gatehouse.Outcome.EXPLICIT
    assert tools.refund.action_for(250, "Refund order 55102 (damaged in transit)") == _REFUND


def test_explicit_waits_then_claims_runs_and_reports(agent: Any, alice: Any) -> None:
    tools = Tools(agent, wait_timeout=0)
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund(250, "order 1")
    rid = caught.value.request_id
    assert rid and caught.value.action_digest == tools.refund.digest_for(250, "order 1")
    assert tools.ran == []
    approve(alice, rid)
    assert tools.refund.call_with_request(rid, 250, "order 1") == "refunded 250"
    request = agent.get_request(rid)
    assert request.state == "executed"
    assert request.raw["execution"]["report"] == {"result": "succeeded"}
    assert request.raw["execution"]["by"] == "agent-refunds"
    # The claim was granted once: the same request cannot run it again.
    with pytest.raises(ApprovalDenied) as again:
        tools.refund.call_with_request(rid, 250, "order 1")
    assert again.value.reason_codes == ("ALREADY_CLAIMED",)
    assert tools.ran == [250]


def test_a_waiting_call_runs_when_a_person_approves(agent: Any, alice: Any) -> None:
    tools = Tools(agent, wait_timeout=120)
    digest = tools.refund.digest_for(260, "waiting")
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(tools.refund(260, "waiting")))
    worker.start()
    deadline = time.monotonic() + 60
    found = None
    while found is None and time.monotonic() < deadline:
        found = next((r for r in alice.list_requests(state="pending") if r.action_digest == digest), None)
        time.sleep(0.1)
    assert found is not None, "the gate never created the request"
    approve(alice, found.id)
    worker.join(timeout=120)
    assert result == ["refunded 260"]
    assert agent.get_request(found.id).state == "executed"


def summarize_tools(client: Any, confidence: float) -> tuple[Any, list[str]]:
    doc = example("internal-summary.json")
    context = {k: v for k, v in doc.items() if k != "action"}
    context["action"] = {k: v for k, v in doc["action"].items() if k not in ("type", "summary")}
    context["model"] = {**context["model"], "confidence": confidence}
    gate = Gate(client=client, context=context, wait_timeout=0)
    ran: list[str] = []

    @gate.tool
    def summarize(summary: str) -> str:
        ran.append(summary)
        return "summary written"

    return summarize, ran


def requests_for(client: Any, digest: str | None) -> list[Any]:
    return [r for r in client.list_requests() if r.action_digest == digest]


def test_auto_is_claimed_run_and_reported(agent: Any) -> None:
    summarize, ran = summarize_tools(agent, 0.93)
    assert summarize("the runbook") == "summary written"
    [request] = requests_for(agent, summarize.digest_for("the runbook"))
    assert request.outcome is gatehouse.Outcome.AUTO
    assert request.state == "executed"
    assert request.raw["execution"]["report"] == {"result": "succeeded"}
    assert ran == ["the runbook"]


def test_queue_runs_and_stays_pending_for_review(agent: Any) -> None:
    summarize, ran = summarize_tools(agent, 0.55)  # low confidence: reviewed afterwards
    assert summarize("the incidents") == "summary written"
    [request] = requests_for(agent, summarize.digest_for("the incidents"))
    assert request.outcome is gatehouse.Outcome.QUEUE
    assert request.state == "pending"
    assert ran == ["the incidents"]


def test_a_changed_argument_cannot_use_the_request(agent: Any, alice: Any) -> None:
    tools = Tools(agent, wait_timeout=0)
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund(250, "order 2")
    rid = caught.value.request_id
    approve(alice, rid)
    with pytest.raises(ApprovalDenied) as denied:
        tools.refund.call_with_request(rid, 2500, "order 2")
    assert denied.value.reason_codes == ("DIGEST_MISMATCH",)
    assert agent.get_request(rid).state == "approved"  # not claimed
    assert tools.ran == []


def test_a_rejection_denies(agent: Any, alice: Any) -> None:
    tools = Tools(agent, wait_timeout=0)
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund(250, "order 3")
    alice.review(caught.value.request_id, "reject", reason="not eligible")
    with pytest.raises(ApprovalDenied) as denied:
        tools.refund.call_with_request(caught.value.request_id, 250, "order 3")
    assert "REJECTED" in denied.value.reason_codes
    assert tools.ran == []


def test_block_is_refused(agent: Any) -> None:
    tools = Tools(agent, wait_timeout=0)
    bad = copy.deepcopy(CONTEXT)
    bad["action"]["currency"] = "USD"  # the policy takes EUR only: invalid input blocks
    tools.gate.context = bad
    with pytest.raises(ActionBlocked) as caught:
        tools.refund(250, "order 4")
    assert caught.value.request_id
    assert agent.get_request(caught.value.request_id).state == "blocked"
    assert tools.ran == []


def test_a_tool_raising_after_the_claim_is_reported(agent: Any, alice: Any) -> None:
    tools = Tools(agent, wait_timeout=0)
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund(250, "explode")
    approve(alice, caught.value.request_id)
    with pytest.raises(RuntimeError, match="payment provider down"):
        tools.refund.call_with_request(caught.value.request_id, 250, "explode")
    request = agent.get_request(caught.value.request_id)
    assert request.state == "executed"
    assert request.raw["execution"]["report"] == {"result": "failed", "error": "RuntimeError: payment provider down"}


def test_concurrent_calls_on_one_request_execute_once(agent: Any, alice: Any) -> None:
    tools = Tools(agent, wait_timeout=0)
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund(250, "order 5")
    rid = caught.value.request_id
    approve(alice, rid)
    start = threading.Barrier(6)
    outcomes: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        start.wait(timeout=60)
        try:
            tools.refund.call_with_request(rid, 250, "order 5")
            o = "ran"
        except ApprovalDenied:
            o = "refused"
        with lock:
            outcomes.append(o)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["ran"] + ["refused"] * 5
    assert tools.ran == [250]


def test_async_tool_with_the_async_client(gatehouse_server: GatehouseServer, alice: Any) -> None:
    async def main() -> None:
        async with AsyncGatehouseClient(gatehouse_server.base_url, gatehouse_server.agent) as client:
            gate = Gate(client=client, context=CONTEXT, wait_timeout=0)

            @gate.tool
            async def refund(amount: float, summary: str) -> str:
                return f"refunded {amount}"

            with pytest.raises(ApprovalRequired) as caught:
                await refund(250, "async")
            approve(alice, caught.value.request_id)
            assert await refund.call_with_request(caught.value.request_id, 250, "async") == "refunded 250"
            assert (await client.get_request(caught.value.request_id)).state == "executed"

    asyncio.run(main())


def test_langgraph_interrupts_with_the_request_and_resumes_with_its_id(agent: Any, alice: Any) -> None:
    tools = Tools(agent, wait_timeout=60)
    args = {"amount": 270, "summary": "graph"}
    model = FakeMessagesListChatModel(
        responses=[
            AIMessage(content="", tool_calls=[{"name": "refund", "args": args, "id": "c1", "type": "tool_call"}]),
            AIMessage(content="done"),
        ]
    )

    def agent_node(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent_node)
    builder.add_node("tools", ToolNode([gated_tool(tools.refund)]))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    graph = builder.compile(checkpointer=MemorySaver())
    cfg = {"configurable": {"thread_id": "service-1"}}
    out = graph.invoke({"messages": [("user", "refund")]}, cfg)
    [pause] = out["__interrupt__"]
    rid = pause.value["request_id"]
    assert rid and tools.ran == []
    approve(alice, rid)
    out = graph.invoke(Command(resume=rid), cfg)
    assert [m.content for m in out["messages"] if isinstance(m, ToolMessage)] == ["refunded 270.0"]  # the schema's float
    assert tools.ran == [270]
    # The node ran twice (before and after the pause) and made one request.
    digest = tools.refund.digest_for(**args)
    assert [r.id for r in agent.list_requests() if r.action_digest == digest] == [rid]


def test_openai_agents_with_a_service_gate_waits_through_the_service(agent: Any, alice: Any) -> None:
    """No SDK pause with a service gate: the tool call itself waits for the
    request to be approved, then claims, runs and reports."""
    from agents import Agent, RunConfig, Runner

    from gatehouse.integrations.openai_agents import gated_function_tool
    from test_openai_agents import ScriptedModel

    tools = Tools(agent, wait_timeout=120)

    @tools.gate.tool(name="refund")
    def refund_sdk(amount: float | int, summary: str) -> str:
        """Refunds an order."""
        tools.ran.append(amount)
        return f"refunded {amount}"

    digest = refund_sdk.digest_for(280, "sdk")
    approver = threading.Thread(target=lambda: approve_when_pending(alice, digest))
    approver.start()
    model = ScriptedModel([("call", "refund", {"amount": 280, "summary": "sdk"}), ("say", "done")])
    sdk_agent = Agent(name="support", model=model, tools=[gated_function_tool(refund_sdk)])
    result = asyncio.run(Runner.run(sdk_agent, "refund", run_config=RunConfig(tracing_disabled=True)))
    approver.join(timeout=120)
    assert result.interruptions == [] and result.final_output == "done"
    assert model.tool_outputs() == ["refunded 280"]
    [request] = requests_for(agent, digest)
    assert request.state == "executed"


def approve_when_pending(alice: Any, digest: str | None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = next((r for r in alice.list_requests(state="pending") if r.action_digest == digest), None)
        if found is not None:
            approve(alice, found.id)
            return
        time.sleep(0.1)
