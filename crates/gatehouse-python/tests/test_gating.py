"""gatehouse.gating in-process: every outcome, and approvals bound to the exact
arguments, spent once, verified against a trust store with real keys."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Any

import pytest

import gatehouse
from gatehouse.gating import (
    ActionBlocked,
    ApprovalDenied,
    ApprovalInbox,
    ApprovalRequest,
    ApprovalRequired,
    Gate,
    GateError,
)
from gating_fixtures import CONTEXT, Approvers, approvers  # noqa: F401  (fixture)


class Tools:
    """The five test tools behind one gate, counting the calls that ran."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.ran: list[tuple[str, Any]] = []

        @gate.tool
        def lookup(order: str) -> str:
            self.ran.append(("lookup", order))
            return f"order {order}: shipped"

        @gate.tool
        def send_email(to: str, body: str) -> str:
            self.ran.append(("send_email", to))
            return "sent"

        @gate.tool
        def refund(order: str, amount: float, details: dict[str, Any] | None = None) -> str:
            self.ran.append(("refund", (order, amount)))
            return f"refunded {amount}"

        @gate.tool(name="refund_vip")
        def refund_vip(order: str, amount: float, details: dict[str, Any] | None = None) -> str:
            self.ran.append(("refund_vip", (order, amount)))
            return "vip refunded"

        @gate.tool
        def delete_records(table: str) -> str:
            self.ran.append(("delete_records", table))
            return "deleted"

        @gate.tool
        def wire_transfer(iban: str, amount: float) -> str:
            self.ran.append(("wire_transfer", iban))
            return "wired"

        self.lookup, self.send_email, self.refund = lookup, send_email, refund
        self.refund_vip, self.delete_records, self.wire_transfer = refund_vip, delete_records, wire_transfer


def test_default_action_is_the_context_with_the_arguments_under_action(approvers: Approvers) -> None:
    tools = Tools(approvers.gate(context={**CONTEXT, "action": {"channel": "chat"}}))
    assert tools.refund.action_for("o-1", 250) == {
        **CONTEXT,
        "action": {"type": "refund", "order": "o-1", "amount": 250, "details": None, "channel": "chat"},
    }
    assert tools.refund.digest_for("o-1", 250) == gatehouse.action_digest(tools.refund.action_for("o-1", 250))


def test_auto_runs_the_tool(approvers: Approvers) -> None:
    tools = Tools(approvers.gate())
    assert tools.lookup("o-7") == "order o-7: shipped"
    assert tools.refund("o-8", 40) == "refunded 40"  # at most 100: auto
    assert tools.ran == [("lookup", "o-7"), ("refund", ("o-8", 40))]


def test_queue_runs_the_tool(approvers: Approvers) -> None:
    tools = Tools(approvers.gate())
    assert approvers.policy.evaluate(tools.send_email.action_for("a@b", "hi")).outcome is gatehouse.Outcome.QUEUE
    assert tools.send_email("a@b", "hi") == "sent"
    assert tools.ran == [("send_email", "a@b")]


def test_block_refuses_with_the_reason_and_never_runs(approvers: Approvers) -> None:
    tools = Tools(approvers.gate())
    with pytest.raises(ActionBlocked) as caught:
        tools.wire_transfer("DE00", 10)
    assert caught.value.reason_codes == ("WIRE_TRANSFER",)
    assert caught.value.outcome is gatehouse.Outcome.BLOCK
    assert "WIRE_TRANSFER" in str(caught.value)
    assert tools.ran == []


def test_an_argument_without_json_form_is_blocked(approvers: Approvers) -> None:
    tools = Tools(approvers.gate())
    with pytest.raises(ActionBlocked) as caught:
        tools.lookup(object())
    assert "INVALID_INPUT" in caught.value.reason_codes
    with pytest.raises(ActionBlocked):
        tools.refund("o-1", float("nan"))
    assert tools.ran == []


def test_explicit_without_a_provider_raises_approval_required_with_the_digest(approvers: Approvers) -> None:
    tools = Tools(approvers.gate())
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund("o-1", 250)
    err = caught.value
    assert err.outcome is gatehouse.Outcome.EXPLICIT
    assert err.action_digest == gatehouse.action_digest(tools.refund.action_for("o-1", 250))
    assert err.decision is not None and err.decision.policy_digest == approvers.policy.digest
    assert "LARGE_REFUND" in err.reason_codes
    assert tools.ran == []


def test_a_signed_approval_for_the_exact_action_runs_it_once(approvers: Approvers) -> None:
    inbox = ApprovalInbox()
    tools = Tools(approvers.gate(approvals=inbox))
    token = approvers.sign(tools.refund.action_for("o-1", 250))
    assert inbox.add(token) == [tools.refund.digest_for("o-1", 250)]
    assert tools.refund("o-1", 250) == "refunded 250"
    # The same approval again: spent.
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund("o-1", 250)
    assert "APPROVAL_REPLAYED" in caught.value.reason_codes
    assert tools.ran == [("refund", ("o-1", 250))]


@pytest.mark.parametrize(
    ("approved", "called"),
    [
        ((("o-1", 250), {}), (("o-1", 251), {})),
        ((("o-1", 250), {}), (("o-2", 250), {})),
        ((("o-1", 250), {"details": {"reason": "damaged", "items": [1, 2]}}),
         (("o-1", 250), {"details": {"reason": "damaged", "items": [1, 3]}})),
        ((("o-1", 250), {"details": {"n": 1}}), (("o-1", 250), {"details": {"n": 1.5}})),
        ((("o-1", 250), {"details": {"n": 1}}), (("o-1", 250), {"details": {"n": "1"}})),
        ((("o-1", 250), {"details": {"flag": True}}), (("o-1", 250), {"details": {"flag": 1}})),
    ],
)  # fmt: skip
def test_a_changed_argument_needs_a_new_approval(approvers: Approvers, approved: Any, called: Any) -> None:
    tools = Tools(approvers.gate())
    token = approvers.sign(tools.refund.action_for(*approved[0], **approved[1]))
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund.call_with_approvals([token], *called[0], **called[1])
    assert "DIGEST_MISMATCH" in caught.value.reason_codes
    assert tools.ran == []
    # ... and it still works for what was approved.
    assert tools.refund.call_with_approvals([token], *approved[0], **approved[1]) == "refunded 250"


def test_key_order_and_number_spelling_do_not_change_the_action(approvers: Approvers) -> None:
    tools = Tools(approvers.gate())
    token = approvers.sign(tools.refund.action_for("o-1", 250, details={"a": 1, "b": [1, 2]}))
    # Canonical JSON: the key order of a mapping never matters, and numbers
    # bind by value (250 and 250.0 are one amount, as in the digest).
    assert tools.refund.digest_for("o-1", 250.0, details={"b": [1, 2], "a": 1}) == tools.refund.digest_for(
        "o-1", 250, details={"a": 1, "b": [1, 2]}
    )
    assert tools.refund.call_with_approvals([token], "o-1", 250.0, details={"b": [1, 2], "a": 1}) == "refunded 250.0"


def test_an_approval_for_another_tool_does_not_count(approvers: Approvers) -> None:
    tools = Tools(approvers.gate())
    token = approvers.sign(tools.refund.action_for("o-1", 250))
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund_vip.call_with_approvals([token], "o-1", 250)
    assert "DIGEST_MISMATCH" in caught.value.reason_codes
    assert tools.ran == []


def test_a_rejection_denies(approvers: Approvers) -> None:
    tools = Tools(approvers.gate())
    token = approvers.sign(tools.refund.action_for("o-1", 250), decision="reject")
    with pytest.raises(ApprovalDenied) as caught:
        tools.refund.call_with_approvals([token], "o-1", 250)
    assert "REJECTED" in caught.value.reason_codes
    assert tools.ran == []


def test_an_expired_approval_does_not_count(approvers: Approvers) -> None:
    tools = Tools(approvers.gate())
    two_hours_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    token = approvers.sign(tools.refund.action_for("o-1", 250), expires_in="1h", now=two_hours_ago)
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund.call_with_approvals([token], "o-1", 250)
    assert "APPROVAL_EXPIRED" in caught.value.reason_codes
    assert tools.ran == []


def test_forged_approvals_do_not_count(approvers: Approvers) -> None:
    tools = Tools(approvers.gate())
    action = tools.refund.action_for("o-1", 250)
    token = approvers.sign(action)
    head, payload, sig = token.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    # A key the store does not list, claiming to be bob.
    impostor = approvers.sign(action, approver="bob", key="mallory")
    for forged, code in ((f"{head}.{payload}.{flipped}", "BAD_SIGNATURE"), (impostor, "UNKNOWN_KEY")):
        with pytest.raises(ApprovalRequired) as caught:
            tools.refund.call_with_approvals([forged], "o-1", 250)
        assert code in caught.value.reason_codes
    with pytest.raises(ApprovalRequired):
        tools.refund.call_with_approvals(["not a token", {"payload": 1}], "o-1", 250)
    assert tools.ran == []


def test_without_a_trust_store_nothing_is_approved(approvers: Approvers) -> None:
    tools = Tools(Gate(approvers.policy, context=CONTEXT))
    token = approvers.sign(tools.refund.action_for("o-1", 250))
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund.call_with_approvals([token], "o-1", 250)
    assert "NO_TRUST_STORE" in caught.value.reason_codes
    assert tools.ran == []


def test_dual_needs_both_people(approvers: Approvers) -> None:
    tools = Tools(approvers.gate())
    action = tools.delete_records.action_for("customers")
    bob, carol = approvers.sign(action, "bob"), approvers.sign(action, "carol")
    with pytest.raises(ApprovalRequired) as caught:
        tools.delete_records.call_with_approvals([bob], "customers")
    assert caught.value.outcome is gatehouse.Outcome.DUAL
    assert tools.ran == []
    assert tools.delete_records.call_with_approvals([bob, carol], "customers") == "deleted"
    assert tools.ran == [("delete_records", "customers")]


def test_concurrent_calls_with_one_approval_execute_once(approvers: Approvers) -> None:
    inbox = ApprovalInbox()
    tools = Tools(approvers.gate(approvals=inbox))
    inbox.add(approvers.sign(tools.refund.action_for("o-1", 250)))
    start = threading.Barrier(8)
    results: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        start.wait(timeout=60)
        try:
            tools.refund("o-1", 250)
            outcome = "ran"
        except ApprovalRequired:
            outcome = "refused"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == ["ran"] + ["refused"] * 7
    assert tools.ran == [("refund", ("o-1", 250))]


def test_a_tool_raising_after_approval_still_spends_it(approvers: Approvers) -> None:
    gate = approvers.gate()
    calls: list[float] = []

    @gate.tool(name="refund")
    def failing_refund(order: str, amount: float) -> str:
        calls.append(amount)
        raise RuntimeError("payment provider down")

    token = approvers.sign(failing_refund.action_for("o-1", 250))
    with pytest.raises(RuntimeError, match="payment provider down"):
        failing_refund.call_with_approvals([token], "o-1", 250)
    with pytest.raises(ApprovalRequired) as caught:
        failing_refund.call_with_approvals([token], "o-1", 250)
    assert "APPROVAL_REPLAYED" in caught.value.reason_codes
    assert calls == [250]


def test_the_provider_is_asked_with_the_decision(approvers: Approvers) -> None:
    asked: list[ApprovalRequest] = []

    def provider(request: ApprovalRequest) -> list[str]:
        asked.append(request)
        return [approvers.sign(dict(request.action))]

    tools = Tools(approvers.gate(approvals=provider))
    assert tools.refund("o-9", 300) == "refunded 300"
    assert len(asked) == 1
    assert asked[0].tool == "refund"
    assert asked[0].action_digest == tools.refund.digest_for("o-9", 300)
    assert asked[0].policy_digest == approvers.policy.digest
    assert asked[0].decision.outcome is gatehouse.Outcome.EXPLICIT


def test_async_tools(approvers: Approvers) -> None:
    async def provider(request: ApprovalRequest) -> list[str]:
        return [approvers.sign(dict(request.action))]

    gate = approvers.gate(approvals=provider)
    ran: list[float] = []

    @gate.tool
    async def refund(order: str, amount: float) -> str:
        await asyncio.sleep(0)
        ran.append(amount)
        return "ok"

    @gate.tool
    async def wire_transfer(iban: str) -> str:
        ran.append(-1)
        return "wired"

    import inspect

    assert inspect.iscoroutinefunction(refund)

    async def main() -> None:
        assert await refund("o-1", 50) == "ok"  # auto
        assert await refund("o-1", 500) == "ok"  # explicit, approved by the async provider
        with pytest.raises(ActionBlocked):
            await wire_transfer("DE00")

    asyncio.run(main())
    assert ran == [50, 500]


def test_a_sync_tool_refuses_an_async_provider(approvers: Approvers) -> None:
    async def provider(request: ApprovalRequest) -> list[str]:
        return []

    tools = Tools(approvers.gate(approvals=provider))
    with pytest.raises(TypeError, match="async"):
        tools.refund("o-1", 250)
    assert tools.ran == []


def test_custom_action_builder(approvers: Approvers) -> None:
    gate = approvers.gate()

    @gate.tool(action=lambda iban, amount: {**CONTEXT, "action": {"type": "refund", "amount": amount}})
    def pay(iban: str, amount: float) -> str:
        return "paid"

    assert pay.action_for("DE00", 5) == {**CONTEXT, "action": {"type": "refund", "amount": 5}}
    assert pay("DE00", 5) == "paid"
    with pytest.raises(ApprovalRequired):
        pay("DE00", 500)


def test_bad_configuration_is_refused(approvers: Approvers) -> None:
    with pytest.raises(ValueError):
        Gate()
    with pytest.raises(ValueError):
        Gate(approvers.policy, client=object())
    with pytest.raises(TypeError):
        Gate("policies/x")  # type: ignore[arg-type]
    gate = approvers.gate()
    with pytest.raises(ValueError, match="type"):

        @gate.tool
        def classify(text: str, type: str) -> str:  # noqa: A002
            return text

    @gate.tool
    def anything(**kwargs: Any) -> str:
        return "ran"

    with pytest.raises(TypeError):
        anything(type="wire_transfer")
    with pytest.raises(TypeError):
        Tools(gate).refund()  # arguments that do not bind


def test_the_model_cannot_override_the_context(approvers: Approvers) -> None:
    """Arguments come from the model, the context from the operator: an
    argument that would replace a context field is refused, never merged."""
    gate = approvers.gate(context={**CONTEXT, "action": {"amount": 5000}})
    ran: list[Any] = []

    @gate.tool(name="refund")
    def flexible(order: str, **extra: Any) -> str:
        ran.append(extra)
        return "ran"

    with pytest.raises(TypeError, match="amount"):
        flexible("o-1", amount=1)  # would lower 5000 to 1: auto instead of explicit
    with pytest.raises(TypeError, match="type"):
        flexible("o-1", type="lookup")
    with pytest.raises(ApprovalRequired):
        flexible("o-1", note="fine")  # the context's 5000 stands
    assert ran == []
    with pytest.raises(ValueError, match="amount"):

        @gate.tool(name="refund")
        def fixed(order: str, amount: float) -> str:
            return "ran"


def test_the_inbox_is_bounded(approvers: Approvers) -> None:
    import base64
    import json

    def fake(digest: str, n: int) -> str:  # unsigned look-alikes: the inbox only files them
        payload = base64.urlsafe_b64encode(json.dumps({"action_digest": digest, "n": n}).encode()).decode().rstrip("=")
        return f"e30.{payload}.c2ln"

    inbox = ApprovalInbox(max_per_digest=2, max_digests=3)
    for n in range(5):
        assert inbox.add(fake("sha256:a", n)) == ["sha256:a"]
    kept = inbox._by_digest["sha256:a"]
    assert kept == [fake("sha256:a", 3), fake("sha256:a", 4)]  # the newest two
    for d in ("b", "c", "d"):
        inbox.add(fake(f"sha256:{d}", 0))
    assert len(inbox) == 3 and "sha256:a" not in inbox._by_digest
    assert inbox.add("garbage") == [] and len(inbox) == 3
    with pytest.raises(ValueError):
        ApprovalInbox(max_per_digest=0)


def test_errors_are_gate_errors() -> None:
    assert issubclass(ActionBlocked, GateError)
    assert issubclass(ApprovalRequired, GateError)
    assert issubclass(ApprovalDenied, GateError)


def test_the_ledger_forgets_expired_approvals(approvers: Approvers) -> None:
    clock = [dt.datetime.now(dt.timezone.utc)]
    gate = approvers.gate(now=lambda: clock[0])
    tools = Tools(gate)
    token = approvers.sign(tools.refund.action_for("o-1", 250), expires_in="1h")
    clock[0] = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)  # after given_at
    tools.refund.call_with_approvals([token], "o-1", 250)
    assert len(gate.ledger) == 1
    clock[0] += dt.timedelta(hours=2)
    tools.lookup("o-1")  # no approval involved: the ledger is untouched
    token2 = approvers.sign(tools.refund.action_for("o-2", 250), expires_in="3h")
    tools.refund.call_with_approvals([token2], "o-2", 250)
    assert len(gate.ledger) == 1  # the first one expired and was forgotten
    # The forgotten approval still cannot run anything: it has expired.
    with pytest.raises(ApprovalRequired) as caught:
        tools.refund.call_with_approvals([token], "o-1", 250)
    assert "APPROVAL_EXPIRED" in caught.value.reason_codes


def test_the_gating_modules_are_strictly_typed(tmp_path: Any) -> None:
    import subprocess
    import sys

    modules = [
        "gatehouse.gating",
        "gatehouse._gating_ledger",
        "gatehouse._gating_service",
        "gatehouse._gating_snapshot",
        "gatehouse.integrations",
    ]
    args = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    for m in modules:
        args += ["-p", m]
    out = subprocess.run(args, cwd=str(tmp_path), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
