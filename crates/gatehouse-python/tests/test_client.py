"""The synchronous client against a real `gatehouse serve` process."""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any
from collections.abc import Callable, Iterator

import httpx
import pytest
from server import GatehouseServer, example

import gatehouse
from gatehouse import errors
from gatehouse.client import GatehouseClient, Request

REFUND = "refund-small.json"


@pytest.fixture
def agent(gatehouse_server: GatehouseServer) -> Iterator[GatehouseClient]:
    with GatehouseClient(gatehouse_server.base_url, gatehouse_server.agent) as client:
        yield client


@pytest.fixture
def alice(gatehouse_server: GatehouseServer) -> Iterator[GatehouseClient]:
    with GatehouseClient(gatehouse_server.base_url, gatehouse_server.alice) as client:
        yield client


def in_thread(work: Callable[[], Any]) -> threading.Thread:
    """Runs `work` in a thread; the test joins it (and its error surfaces)."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as e:  # re-raised by join_ok
            failures.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.failures = failures  # type: ignore[attr-defined]
    thread.start()
    return thread


def join_ok(thread: threading.Thread) -> None:
    thread.join(timeout=60)
    assert not thread.is_alive(), "the helper thread did not finish"
    failures = thread.failures  # type: ignore[attr-defined]
    if failures:
        raise failures[0]


class Counting(httpx.BaseTransport):
    """Passes calls to a real transport and records their paths; `events`
    can be answered by hand instead (to take the stream away)."""

    def __init__(self, events: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.paths: list[str] = []
        self.events = events

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if self.events is not None and request.url.path.endswith("/events"):
            return self.events(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_the_full_lifecycle(agent: GatehouseClient, alice: GatehouseClient) -> None:
    action = example(REFUND)
    created = agent.create_request(action)
    assert isinstance(created, Request)
    assert created.state == "pending" and created.is_pending and not created.is_final
    assert created.outcome is gatehouse.Outcome.EXPLICIT
    assert created.roles == ("support_lead",)
    assert created.action_digest == gatehouse.action_digest(action)
    assert created.approvals_required is not None and created.approvals_required["count"] == 1
    assert created.decision["outcome"] == "explicit"
    assert created.raw["id"] == created.id and created.deadline is not None

    started = threading.Event()

    def approve() -> None:
        assert started.wait(timeout=30)
        alice.review(created.id, "approve", reason="order checked", action_digest=created.action_digest)

    thread = in_thread(approve)
    started.set()
    decided = agent.wait_for_decision(created.id, timeout=60)
    join_ok(thread)
    assert decided.state == "approved" and decided.is_approved and not decided.is_pending
    assert decided.version > created.version

    claimed = agent.claim(created.id, action)
    assert claimed.state == "executing"
    executed = agent.report_executed(created.id, {"result": "succeeded", "tool_call_id": "call-1"})
    assert executed.state == "executed" and executed.raw["execution"]["report"]["tool_call_id"] == "call-1"
    verified = agent.report_verified(created.id, {"matched": True})
    assert verified.state == "verified" and verified.is_final
    assert verified.version > executed.version > claimed.version > decided.version

    records = agent.audit(created.id)
    assert len(records) >= 5 and all(isinstance(r, dict) for r in records)
    # A second claim of the same request is refused: exactly one execution.
    with pytest.raises(errors.AlreadyClaimed) as refused:
        agent.claim(created.id, action)
    assert refused.value.status == 409 and isinstance(refused.value, errors.Conflict)


def test_decide_matches_the_engine(agent: GatehouseClient, agent_policy: gatehouse.Policy) -> None:
    names = ["refund-small.json", "refund-large.json", "internal-summary.json", "prod-deploy.json"]
    actions = [example(n) for n in names]
    batch = agent.decide_many(actions)
    assert len(batch) == len(actions)
    for action, one in zip(actions, batch, strict=True):
        local = agent_policy.evaluate(action)
        assert agent.decide(action)["outcome"] == str(local.outcome)
        assert one["outcome"] == str(local.outcome)
        assert one["action_digest"] == gatehouse.action_digest(action)
    # Text that is not an action is decided the way `eval` decides it.
    assert agent.decide("{not json")["outcome"] == "block"


def test_get_request_and_one_long_poll(agent: GatehouseClient, alice: GatehouseClient) -> None:
    created = agent.create_request(example(REFUND))
    again = agent.get_request(created.id)
    assert again.id == created.id and again.version == created.version
    unchanged = agent.wait(created.id, since_version=created.version, timeout=1)
    assert unchanged.raw["changed"] is False and unchanged.state == "pending"
    alice.review(created.id, "approve", reason="ok")
    changed = agent.wait(created.id, since_version=created.version, timeout=30)
    assert changed.raw["changed"] is True and changed.state == "approved"
    by_state = agent.wait(created.id, state="pending", timeout=30)
    assert by_state.raw["changed"] is True


def test_events_stream_the_changes(agent: GatehouseClient, alice: GatehouseClient) -> None:
    created = agent.create_request(example(REFUND))
    stream = agent.events(created.id)
    first = next(stream)
    assert first.state == "pending" and first.version == created.version
    alice.review(created.id, "reject", reason="not this one")
    second = next(stream)
    assert second.state == "rejected" and second.version > first.version
    # A final state ends the stream.
    assert list(stream) == []


def test_wait_for_decision_returns_at_once_for_auto(agent: GatehouseClient) -> None:
    auto = agent.create_request(example("internal-summary.json"))
    assert auto.state == "approved"
    assert agent.wait_for_decision(auto.id, timeout=10).state == "approved"


def test_wait_for_decision_times_out_with_the_last_request(agent: GatehouseClient) -> None:
    created = agent.create_request(example(REFUND))
    with pytest.raises(errors.WaitTimeout) as timed_out:
        agent.wait_for_decision(created.id, timeout=1.5)
    assert isinstance(timed_out.value, TimeoutError)
    assert timed_out.value.last is not None
    assert timed_out.value.last.id == created.id and timed_out.value.last.state == "pending"


def test_wait_for_decision_reconnects_its_stream(gatehouse_server_factory: Callable[..., GatehouseServer]) -> None:
    # Streams end after one second; the approval comes after several, so
    # only a client that reconnects sees it.
    server = gatehouse_server_factory(config="[limits]\nmax_wait_seconds = 1\n")
    transport = Counting()
    with GatehouseClient(server.base_url, server.agent, transport=transport) as agent:
        created = agent.create_request(example(REFUND))

        def approve() -> None:
            deadline = time.monotonic() + 30
            while transport.paths.count(f"/v1/requests/{created.id}/events") < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            with GatehouseClient(server.base_url, server.alice) as alice:
                alice.review(created.id, "approve", reason="ok")

        thread = in_thread(approve)
        decided = agent.wait_for_decision(created.id, timeout=60)
        join_ok(thread)
    assert decided.state == "approved"
    assert transport.paths.count(f"/v1/requests/{created.id}/events") >= 3


def test_wait_for_decision_falls_back_to_long_polls(gatehouse_server: GatehouseServer, alice: GatehouseClient) -> None:
    def no_stream(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>proxy</html>")

    transport = Counting(events=no_stream)
    with GatehouseClient(gatehouse_server.base_url, gatehouse_server.agent, transport=transport) as agent:
        created = agent.create_request(example(REFUND))
        thread = in_thread(lambda: alice.review(created.id, "approve", reason="ok"))
        decided = agent.wait_for_decision(created.id, timeout=60)
        join_ok(thread)
    assert decided.state == "approved"
    assert any(p.endswith("/wait") or p == f"/v1/requests/{created.id}" for p in transport.paths)


def test_idempotent_create_and_review(agent: GatehouseClient, alice: GatehouseClient) -> None:
    action = example(REFUND)
    first = agent.create_request(action, idempotency_key="order-55102")
    again = agent.create_request(action, idempotency_key="order-55102")
    assert again.id == first.id and again.version == first.version
    other = agent.create_request(action)  # a fresh random key: a new request
    assert other.id != first.id
    with pytest.raises(errors.IdempotencyKeyReused) as reused:
        agent.create_request(example("refund-large.json"), idempotency_key="order-55102")
    assert reused.value.status == 422

    reviewed = alice.review(first.id, "approve", reason="ok", idempotency_key="review-1")
    replay = alice.review(first.id, "approve", reason="ok", idempotency_key="review-1")
    assert replay.raw == reviewed.raw and len(replay.raw["approvals"]) == 1
    with pytest.raises(ValueError):
        agent.create_request(action, idempotency_key="bad key\n")


def test_cancel(agent: GatehouseClient) -> None:
    created = agent.create_request(example(REFUND))
    cancelled = agent.cancel(created.id, reason="the customer withdrew")
    assert cancelled.state == "cancelled" and cancelled.is_final
    with pytest.raises(errors.Conflict) as refused:
        agent.cancel(created.id)
    assert refused.value.code == "REQUEST_FINAL" and refused.value.state == "cancelled"


def test_list_and_page_through_requests(agent: GatehouseClient, alice: GatehouseClient) -> None:
    ids = {agent.create_request(example(REFUND)).id for _ in range(3)}
    approved = agent.create_request(example(REFUND))
    alice.review(approved.id, "approve", reason="ok")
    pending = agent.list_requests(state="pending", limit=500)
    assert ids <= {r.id for r in pending} and all(r.state == "pending" for r in pending)
    assert approved.id not in {r.id for r in pending}
    both = agent.list_requests(state=["pending", "approved"], limit=500)
    assert {r.state for r in both} <= {"pending", "approved"} and approved.id in {r.id for r in both}
    paged = [r.id for r in agent.iter_requests(state="pending", limit=2)]
    assert len(paged) == len(set(paged)) == len(agent.list_requests(state="pending", limit=500))
    assert ids <= set(paged)


def test_problems_from_the_real_server(
    gatehouse_server: GatehouseServer, agent: GatehouseClient, alice: GatehouseClient
) -> None:
    action = example(REFUND)
    created = agent.create_request(action)

    # 403: the requester of the action may not approve it.
    with GatehouseClient(
        gatehouse_server.base_url, gatehouse_server.key("u-1042", ["approve"], ["support_lead"])
    ) as requester:
        with pytest.raises(errors.SelfApproval) as self_approval:
            requester.review(created.id, "approve", reason="mine")
    assert self_approval.value.status == 403 and isinstance(self_approval.value, errors.Forbidden)
    assert self_approval.value.problem["code"] == "SELF_APPROVAL" and self_approval.value.title

    with pytest.raises(errors.ScopeMissing):
        alice.create_request(action)
    with pytest.raises(errors.ReasonRequired):
        alice.review(created.id, "approve")

    # 409: the claim presents another action than the one approved.
    alice.review(created.id, "approve", reason="ok")
    changed = {**action, "action": {**action["action"], "amount": 900}}
    with pytest.raises(errors.DigestMismatch) as mismatch:
        agent.claim(created.id, changed)
    assert mismatch.value.status == 409 and "digest" in (mismatch.value.detail or "")
    agent.claim(created.id, action)
    with pytest.raises(errors.AlreadyClaimed):
        agent.claim(created.id, action)

    # 404 and 401.
    with pytest.raises(errors.NotFound) as missing:
        agent.get_request("req_" + "0" * 32)
    assert missing.value.status == 404 and missing.value.code == "NOT_FOUND"
    with GatehouseClient(gatehouse_server.base_url, "ghk_000000000000.not-a-key") as stranger:
        with pytest.raises(errors.Unauthenticated) as unauthenticated:
            stranger.get_request(created.id)
    assert unauthenticated.value.status == 401

    # 422 with the JSON path (body) or the query parameter.
    with pytest.raises(errors.InvalidBody) as bad_review:
        alice.review(created.id, "maybe", reason="x")  # type: ignore[arg-type]
    assert bad_review.value.paths == ["$.decision"] and bad_review.value.status == 422
    with pytest.raises(errors.InvalidBody) as bad_filter:
        agent.list_requests(state="nonsense")
    assert bad_filter.value.paths == ["query.state"]
    with pytest.raises(errors.InvalidQuery):
        agent.wait(created.id, state="nonsense", timeout=1)


def test_too_many_waits(gatehouse_server_factory: Callable[..., GatehouseServer]) -> None:
    server = gatehouse_server_factory(config="[limits]\nmax_waits_per_caller = 1\n")
    with GatehouseClient(server.base_url, server.agent) as agent:
        created = agent.create_request(example(REFUND))
        stream = agent.events(created.id)
        assert next(stream).state == "pending"  # the stream holds the one slot
        with pytest.raises(errors.TooManyWaits) as refused:
            agent.wait(created.id, timeout=1)
        stream.close()
    assert refused.value.status == 429 and refused.value.retry_after == 1.0
    assert isinstance(refused.value, errors.TooManyRequests)


def test_the_key_never_shows(gatehouse_server: GatehouseServer) -> None:
    key = gatehouse_server.agent
    with GatehouseClient(gatehouse_server.base_url, key) as client:
        assert key not in repr(client) and key not in str(client)
        with pytest.raises(errors.NotFound) as missing:
            client.get_request("req_" + "0" * 32)
    assert key not in "".join(traceback.format_exception(missing.value)) and key not in repr(missing.value)
    # Nothing listens on port 9 of loopback: a transport error.
    with GatehouseClient("http://127.0.0.1:9", key, timeout=5) as offline:
        with pytest.raises(errors.GatehouseConnectionError) as unreachable:
            offline.get_request("req_" + "0" * 32)
    shown = "".join(traceback.format_exception(unreachable.value)) + repr(unreachable.value)
    assert key not in shown and unreachable.value.__cause__ is None


def test_the_docs_python_blocks_run(gatehouse_server: GatehouseServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block of docs/python-client.md, in order, in one
    namespace, against the real server (the page promises they run)."""
    import re

    from server import ROOT

    page = (ROOT / "docs" / "python-client.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert len(blocks) >= 5
    reviewer = gatehouse_server.key("doc-reviewer", ["approve"], ["support_lead"])
    monkeypatch.setenv("GATEHOUSE_URL", gatehouse_server.base_url)
    monkeypatch.setenv("GATEHOUSE_AGENT_KEY", gatehouse_server.agent)
    monkeypatch.setenv("GATEHOUSE_REVIEWER_KEY", reviewer)
    monkeypatch.chdir(ROOT)
    namespace: dict[str, Any] = {"__name__": "docs_python_client"}
    for block in blocks:
        exec(compile(block, "docs/python-client.md", "exec"), namespace)
    assert namespace["done"].state == "verified"


def test_events_with_a_timeout_end_quietly(agent: GatehouseClient) -> None:
    created = agent.create_request(example(REFUND))
    seen = list(agent.events(created.id, timeout=1))
    assert [r.state for r in seen] == ["pending"]


def test_a_revoked_key_ends_the_wait_with_401(gatehouse_server: GatehouseServer) -> None:
    key = gatehouse_server.key("agent-revoked", ["request", "execute"])
    with GatehouseClient(gatehouse_server.base_url, key) as agent:
        created = agent.create_request(example(REFUND))
        stream = agent.events(created.id)
        assert next(stream).state == "pending"  # the stream is open: revoke now
        gatehouse_server.revoke(key)
        assert list(stream) == []  # the service closes the stream
        with pytest.raises(errors.Unauthenticated):
            agent.wait_for_decision(created.id, timeout=30)
