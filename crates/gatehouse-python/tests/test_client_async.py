"""The async client against a real `gatehouse serve` process (anyio's
pytest plugin, on asyncio)."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
import pytest
from server import GatehouseServer, example

import gatehouse
from gatehouse import errors
from gatehouse.client import AsyncGatehouseClient

pytestmark = pytest.mark.anyio
REFUND = "refund-small.json"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Counting(httpx.AsyncBaseTransport):
    """Passes calls to a real transport and records their paths."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_the_full_lifecycle(gatehouse_server: GatehouseServer) -> None:
    action = example(REFUND)
    async with (
        AsyncGatehouseClient(gatehouse_server.base_url, gatehouse_server.agent) as agent,
        AsyncGatehouseClient(gatehouse_server.base_url, gatehouse_server.alice) as alice,
    ):
        created = await agent.create_request(action)
        assert created.state == "pending" and created.outcome is gatehouse.Outcome.EXPLICIT
        assert created.action_digest == gatehouse.action_digest(action)
        decided: list[str] = []

        async def waiter() -> None:
            decided.append((await agent.wait_for_decision(created.id, timeout=60)).state)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(waiter)
            # Approve once the waiter holds its stream (or soon after).
            await anyio.sleep(0.2)
            await alice.review(created.id, "approve", reason="order checked")
        assert decided == ["approved"]
        assert (await agent.get_request(created.id)).is_approved
        assert (await agent.claim(created.id, action)).state == "executing"
        assert (await agent.report_executed(created.id, {"result": "succeeded"})).state == "executed"
        verified = await agent.report_verified(created.id, {"matched": True})
        assert verified.state == "verified" and verified.is_final
        assert len(await agent.audit(created.id)) >= 5
        with pytest.raises(errors.AlreadyClaimed):
            await agent.claim(created.id, action)


async def test_decide_wait_events_list_cancel(
    gatehouse_server: GatehouseServer, agent_policy: gatehouse.Policy
) -> None:
    async with (
        AsyncGatehouseClient(gatehouse_server.base_url, gatehouse_server.agent) as agent,
        AsyncGatehouseClient(gatehouse_server.base_url, gatehouse_server.alice) as alice,
    ):
        action = example("refund-large.json")
        assert (await agent.decide(action))["outcome"] == str(agent_policy.evaluate(action).outcome)
        many = await agent.decide_many([action, example("internal-summary.json")])
        assert [d["outcome"] for d in many] == [
            str(agent_policy.evaluate(a).outcome) for a in (action, example("internal-summary.json"))
        ]

        created = await agent.create_request(example(REFUND), idempotency_key="async-1")
        assert (await agent.create_request(example(REFUND), idempotency_key="async-1")).id == created.id
        unchanged = await agent.wait(created.id, since_version=created.version, timeout=1)
        assert unchanged.raw["changed"] is False

        seen = []
        async for request in agent.events(created.id):
            seen.append(request.state)
            if request.state == "pending":
                await alice.review(created.id, "request_changes", reason="add the order number")
            else:
                break
        assert seen == ["pending", "changes_requested"]

        other = await agent.create_request(example(REFUND))
        listed = [r.id async for r in agent.iter_requests(state="pending", limit=1)]
        assert other.id in listed and len(listed) == len(set(listed))
        assert other.id in {r.id for r in await agent.list_requests(state=["pending"], limit=500)}
        assert (await agent.cancel(other.id)).state == "cancelled"


async def test_wait_for_decision_times_out(gatehouse_server: GatehouseServer) -> None:
    async with AsyncGatehouseClient(gatehouse_server.base_url, gatehouse_server.agent) as agent:
        created = await agent.create_request(example(REFUND))
        with pytest.raises(errors.WaitTimeout) as timed_out:
            await agent.wait_for_decision(created.id, timeout=1.5)
    assert timed_out.value.last is not None and timed_out.value.last.state == "pending"


async def test_wait_for_decision_reconnects(gatehouse_server_factory: Callable[..., GatehouseServer]) -> None:
    server = gatehouse_server_factory(config="[limits]\nmax_wait_seconds = 1\n")
    transport = Counting()
    async with (
        AsyncGatehouseClient(server.base_url, server.agent, transport=transport) as agent,
        AsyncGatehouseClient(server.base_url, server.alice) as alice,
    ):
        created = await agent.create_request(example(REFUND))
        path = f"/v1/requests/{created.id}/events"
        result: list[str] = []

        async def waiter() -> None:
            result.append((await agent.wait_for_decision(created.id, timeout=60)).state)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(waiter)
            with anyio.fail_after(30):
                while transport.paths.count(path) < 3:
                    await anyio.sleep(0.05)
            await alice.review(created.id, "approve", reason="ok")
    assert result == ["approved"] and transport.paths.count(path) >= 3


async def test_problems(gatehouse_server: GatehouseServer) -> None:
    async with AsyncGatehouseClient(gatehouse_server.base_url, gatehouse_server.agent) as agent:
        created = await agent.create_request(example(REFUND))
        requester_key = gatehouse_server.key("u-1042", ["approve"], ["support_lead"])
        async with AsyncGatehouseClient(gatehouse_server.base_url, requester_key) as requester:
            with pytest.raises(errors.SelfApproval):
                await requester.review(created.id, "approve", reason="mine")
        with pytest.raises(errors.NotFound):
            await agent.get_request("req_" + "0" * 32)
        with pytest.raises(errors.InvalidBody) as bad:
            await agent.list_requests(state="nonsense")
        assert bad.value.paths == ["query.state"]
        async with AsyncGatehouseClient(gatehouse_server.base_url, gatehouse_server.alice) as alice:
            await alice.review(created.id, "approve", reason="ok")
            with pytest.raises(errors.DigestMismatch):
                changed = example(REFUND)
                changed["action"]["amount"] = 999
                await agent.claim(created.id, changed)
    async with AsyncGatehouseClient(gatehouse_server.base_url, "ghk_000000000000.nope") as stranger:
        with pytest.raises(errors.Unauthenticated):
            await stranger.get_request(created.id)


async def test_too_many_waits(gatehouse_server_factory: Callable[..., GatehouseServer]) -> None:
    server = gatehouse_server_factory(config="[limits]\nmax_waits_per_caller = 1\n")
    async with AsyncGatehouseClient(server.base_url, server.agent) as agent:
        created = await agent.create_request(example(REFUND))
        stream = agent.events(created.id)
        assert (await stream.__anext__()).state == "pending"
        with pytest.raises(errors.TooManyWaits) as refused:
            await agent.wait(created.id, timeout=1)
        await stream.aclose()
    assert refused.value.retry_after == 1.0 and refused.value.status == 429
