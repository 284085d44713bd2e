"""Regression tests for the attacker's gating findings (issue 16; /work/attack-py/findings):
the tool runs with the gate's snapshot of the arguments (01, 06), a `queue` request
runs once (04), a request with another id is refused (03), and the ledger keeps a
spent approval until the engine stops accepting it (05)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import enum
import json
import threading
import time
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

import gatehouse
from gatehouse._gating_ledger import _parse_time
from gatehouse.gating import SharedArgumentError
from gatehouse.client import GatehouseClient
from gatehouse.gating import ApprovalDenied, ApprovalRequest, ApprovalRequired, Gate
from gating_fixtures import CONTEXT, Approvers, approvers  # noqa: F401  (fixture)
from server import GatehouseServer, example

# ---------------------------------------------------------------- snapshot --


def test_a_thread_changing_a_list_during_verification_does_not_change_what_runs(approvers: Approvers) -> None:
    """Finding 01: another thread appends to the list while the gate verifies."""
    gate = approvers.gate()
    ran: list[list[str]] = []

    @gate.tool
    def refund(orders: list[str], amount: float) -> str:
        ran.append(list(orders))
        return "ok"

    mutated = 0
    for _ in range(20):
        orders = ["o-1"]
        token = approvers.sign(refund.action_for(["o-1"], 150))
        stop = threading.Event()

        def mutator(orders: list[str] = orders, stop: threading.Event = stop) -> None:
            # waits until the gate holds its ledger lock (inside check_approvals)
            while not gate.ledger.lock.locked() and not stop.is_set():
                time.sleep(0)
            orders.append("o-666")

        t = threading.Thread(target=mutator)
        t.start()
        try:
            refund.call_with_approvals([token], orders, 150)
        finally:
            stop.set()
            t.join()
        mutated += orders != ["o-1"]
        assert ran[-1] == ["o-1"]
    assert mutated == 20  # every trial changed the caller's list; none reached the tool
    assert len(ran) == 20


def test_the_provider_gets_a_copy_and_cannot_change_the_call(approvers: Approvers) -> None:
    """The provider (or anyone holding the caller's list) changes it after the decision."""
    orders = ["o-1"]
    seen: list[ApprovalRequest] = []

    def provider(request: ApprovalRequest) -> list[str]:
        seen.append(request)
        request.action["action"]["orders"].append("o-from-provider")  # type: ignore[index]
        orders.append("o-from-caller")
        return [approvers.sign(refund.action_for(["o-1"], 150))]

    gate = approvers.gate(approvals=provider)
    ran: list[list[str]] = []

    @gate.tool
    def refund(orders: list[str], amount: float) -> str:
        ran.append(list(orders))
        return "ok"

    assert refund(orders, 150) == "ok"
    assert ran == [["o-1"]]
    assert orders == ["o-1", "o-from-caller"]
    assert seen[0].action["action"]["orders"] == ["o-1", "o-from-provider"]


def test_approval_required_carries_a_copy(approvers: Approvers) -> None:
    gate = approvers.gate()

    @gate.tool
    def refund(orders: list[str], amount: float) -> str:
        return "ok"

    orders = ["o-1"]
    with pytest.raises(ApprovalRequired) as caught:
        refund(orders, 150)
    held = caught.value.action["action"]["orders"]
    assert held == ["o-1"] and held is not orders


def test_async_tools_run_with_the_snapshot(approvers: Approvers) -> None:
    orders = ["o-1"]

    async def provider(request: ApprovalRequest) -> list[str]:
        orders.append("o-666")
        await asyncio.sleep(0)
        return [approvers.sign(refund.action_for(["o-1"], 150))]

    gate = approvers.gate(approvals=provider)
    ran: list[list[str]] = []

    @gate.tool
    async def refund(orders: list[str], amount: float) -> str:
        ran.append(list(orders))
        return "ok"

    assert asyncio.run(refund(orders, 150)) == "ok"
    assert ran == [["o-1"]] and orders == ["o-1", "o-666"]


class _SelfCopy(list):  # type: ignore[type-arg]
    """A list whose deep copy is itself: a snapshot of it would be the live list."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _SelfCopy:
        return self


class _SharesInside:
    """A new object on copy, but sharing the live inner list."""

    def __init__(self, items: list[str]) -> None:
        self.items = items

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharesInside:
        return _SharesInside(self.items)


class _Unc:
    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        raise RuntimeError("no copies")


@pytest.mark.parametrize(
    "hostile",
    [_SelfCopy(["o-1"]), {"nested": [_SelfCopy(["o-1"])]}, _SharesInside(["o-1"]), (_SelfCopy(["o-1"]),)],
    ids=["self", "nested-self", "shares-inside", "in-tuple"],
)
def test_an_argument_that_defeats_the_copy_is_refused(approvers: Approvers, hostile: Any) -> None:
    gate = approvers.gate()
    ran: list[Any] = []

    @gate.tool
    def lookup(orders: Any) -> str:
        ran.append(orders)
        return "ok"

    with pytest.raises(SharedArgumentError, match="shares a mutable"):
        lookup(hostile)
    assert ran == []
    assert issubclass(SharedArgumentError, TypeError)


def test_an_argument_that_cannot_be_copied_is_a_type_error(approvers: Approvers) -> None:
    gate = approvers.gate()

    @gate.tool
    def lookup(order: Any) -> str:
        raise AssertionError("must not run")

    with pytest.raises(TypeError, match="cannot be copied"):
        lookup(_Unc())
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(TypeError, match="cannot be copied"):
        lookup(deep)


class _Colour(enum.Enum):
    RED = "red"


def test_immutable_values_and_excluded_parameters_pass(approvers: Approvers) -> None:
    gate = approvers.gate()
    ctx = {"live": [1]}
    got: list[Any] = []

    def build(ctx: Any, order: str, tags: tuple[int, ...], colour: _Colour) -> dict[str, Any]:
        return {**CONTEXT, "action": {"type": "lookup", "order": order, "tags": list(tags), "colour": colour.value}}

    @gate.tool(exclude=["ctx"], action=build)
    def lookup(ctx: Any, order: str, tags: tuple[int, ...], colour: _Colour) -> str:
        got.append((ctx, order, tags, colour))
        return "ok"

    assert lookup(ctx, "o-1", (1, 2), _Colour.RED) == "ok"
    assert got[0][0] is ctx  # excluded: passed as it is
    assert got[0][1:] == ("o-1", (1, 2), _Colour.RED)


# ------------------------------------------------------------------ ledger --


def test_expiry_is_rounded_up_to_the_microsecond() -> None:
    assert _parse_time("2026-01-01T01:00:00.123456789Z") == dt.datetime(2026, 1, 1, 1, 0, 0, 123457, dt.timezone.utc)
    assert _parse_time("2026-01-01T01:00:00.123456000Z") == dt.datetime(2026, 1, 1, 1, 0, 0, 123456, dt.timezone.utc)
    assert _parse_time("2026-01-01T01:00:00.999999001Z") == dt.datetime(2026, 1, 1, 1, 0, 1, 0, dt.timezone.utc)
    assert _parse_time("2026-01-01T01:00:00Z") == dt.datetime(2026, 1, 1, 1, 0, 0, 0, dt.timezone.utc)
    assert _parse_time("9999-12-31T23:59:59.999999999Z") is None  # kept for ever: safe


def _expiry(token: str) -> str:
    p = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["expires_at"])


def test_the_ledger_keeps_an_approval_until_the_engine_refuses_it(approvers: Approvers) -> None:
    """Finding 05: at now == the truncated expiry the engine still accepts the approval."""
    clock: dict[str, dt.datetime] = {}
    gate = approvers.gate(now=lambda: clock["t"])
    runs: list[str] = []

    @gate.tool
    def refund(order: str, amount: float) -> str:
        runs.append(order)
        return "ok"

    signed_at = "2026-03-01T10:00:00.123456789Z"  # nanoseconds, as `gatehouse approve` writes them
    tok_a = approvers.sign(refund.action_for("o-1", 150), now=signed_at)
    tok_b = approvers.sign(refund.action_for("o-2", 150), now=signed_at)
    exp = _expiry(tok_a)
    assert exp.endswith("789Z"), exp
    truncated = dt.datetime.fromisoformat(exp.replace("Z", "+00:00"))
    clock["t"] = truncated - dt.timedelta(minutes=5)
    refund.call_with_approvals([tok_a], "o-1", 150)
    clock["t"] = truncated
    refund.call_with_approvals([tok_b], "o-2", 150)  # a spend sweeps what has expired
    with pytest.raises(ApprovalRequired) as caught:
        refund.call_with_approvals([tok_a], "o-1", 150)
    assert "APPROVAL_REPLAYED" in caught.value.reason_codes
    assert runs == ["o-1", "o-2"]


# ----------------------------------------------------------------- service --


class _OtherRequestClient:
    """A client whose server answers with another (approved) request of the same action."""

    def __init__(self, digest: str) -> None:
        self.digest = digest
        self.claims: list[str] = []

    def get_request(self, request_id: str) -> Any:
        return SimpleNamespace(
            id="req-other", action_digest=self.digest, state="approved", outcome="explicit",
            is_approved=True, is_final=False, decision=None,
        )  # fmt: skip

    def wait_for_decision(self, request_id: str, timeout: float) -> Any:
        return self.get_request(request_id)

    def claim(self, request_id: str, action: Any) -> None:
        self.claims.append(request_id)

    def report_executed(self, request_id: str, report: Any) -> None:
        pass


def test_a_request_with_another_id_is_refused() -> None:
    """Finding 03, at the gate: the request asked for must be the one answered."""
    probe = Gate(client=object(), context={"requester": {"id": "u"}})
    digest = probe.wrap(lambda order: "x", name="refund").digest_for("o-1")
    assert digest is not None
    client = _OtherRequestClient(digest)
    gate = Gate(client=client, context={"requester": {"id": "u"}}, wait_timeout=0)
    ran: list[str] = []
    refund = gate.wrap(lambda order: ran.append(order), name="refund")
    with pytest.raises(ApprovalDenied) as caught:
        refund.call_with_request("req-1", "o-1")
    assert caught.value.reason_codes == ("REQUEST_MISMATCH",)
    assert ran == [] and client.claims == []


@pytest.fixture
def agent(gatehouse_server: GatehouseServer) -> Any:
    with GatehouseClient(gatehouse_server.base_url, gatehouse_server.agent) as client:
        yield client


def _summarize(client: Any) -> tuple[Any, list[str]]:
    doc = example("internal-summary.json")
    context = {k: v for k, v in doc.items() if k != "action"}
    context["action"] = {k: v for k, v in doc["action"].items() if k not in ("type", "summary")}
    context["model"] = {**context["model"], "confidence": 0.55}  # queue
    gate = Gate(client=client, context=context, wait_timeout=0)
    ran: list[str] = []

    @gate.tool
    def summarize(summary: str) -> str:
        ran.append(summary)
        return "summary written"

    return summarize, ran


def test_a_queue_request_runs_once(agent: Any) -> None:
    """Finding 04: call_with_request on a pending queue request must not run again."""
    summarize, ran = _summarize(agent)
    assert summarize("the incidents, once") == "summary written"
    [req] = [r for r in agent.list_requests() if r.action_digest == summarize.digest_for("the incidents, once")]
    assert req.outcome is gatehouse.Outcome.QUEUE
    for _ in range(3):
        with pytest.raises(ApprovalDenied) as caught:
            summarize.call_with_request(req.id, "the incidents, once")
        assert caught.value.reason_codes == ("QUEUE_REQUEST_USED",)
    assert ran == ["the incidents, once"]
    assert agent.get_request(req.id).state == "pending"


def test_a_queue_request_found_again_by_its_idempotency_key_does_not_run_twice(agent: Any) -> None:
    """A node's re-run (LangGraph) creates the request under the same key: one execution."""
    summarize, ran = _summarize(agent)
    tool = summarize.__gatehouse_tool__
    assert tool.call_service(("the audit, once",), {}, idempotency_key="node-1") == "summary written"
    with pytest.raises(ApprovalDenied) as caught:
        tool.call_service(("the audit, once",), {}, idempotency_key="node-1")
    assert caught.value.reason_codes == ("QUEUE_REQUEST_USED",)
    assert ran == ["the audit, once"]


class _SlowClaimAnswer(httpx.BaseTransport):
    """A plain transport whose answers to /claim arrive 0.5 s late (a slow link)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        resp = self.inner.handle_request(request)
        if request.url.path.endswith("/claim"):
            time.sleep(0.5)
        return resp

    def close(self) -> None:
        self.inner.close()


def test_a_list_changed_after_the_claim_does_not_change_what_runs(gatehouse_server: GatehouseServer) -> None:
    """Finding 06: another thread changes the list while the claim's answer travels."""
    refund_doc = example("refund-small.json")
    context = {k: v for k, v in refund_doc.items() if k != "action"}
    context["action"] = {k: v for k, v in refund_doc["action"].items() if k not in ("type", "amount", "summary")}
    with GatehouseClient(gatehouse_server.base_url, gatehouse_server.agent, transport=_SlowClaimAnswer()) as agent, \
         GatehouseClient(gatehouse_server.base_url, gatehouse_server.alice) as alice:  # fmt: skip
        gate = Gate(client=agent, context=context, wait_timeout=0)
        ran: list[list[str]] = []

        @gate.tool
        def refund(amount: float, summary: str, orders: list[str]) -> str:
            ran.append(list(orders))
            return "ok"

        orders = ["o-1"]
        with pytest.raises(ApprovalRequired) as caught:
            refund(250, "order 1", orders)
        rid = caught.value.request_id
        assert rid is not None
        alice.review(rid, "approve", reason="checked o-1")

        def other_thread() -> None:
            deadline = time.monotonic() + 60
            while alice.get_request(rid).state != "executing" and time.monotonic() < deadline:
                time.sleep(0.02)
            orders.append("o-666")

        t = threading.Thread(target=other_thread, daemon=True)
        t.start()
        assert refund.call_with_request(rid, 250, "order 1", orders) == "ok"
        t.join(60)
        assert orders == ["o-1", "o-666"]  # the change happened, during the claim
        assert ran == [["o-1"]]
        assert agent.get_request(rid).state == "executed"
