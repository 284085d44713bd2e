"""Signed approvals from `gatehouse approve`, verified in-process against a trust store."""

from __future__ import annotations

import json
import subprocess

import pytest

import gatehouse

from conftest import EXAMPLES, POLICIES

POLICY = POLICIES / "ai-agent-actions"
ACTION = EXAMPLES / "refund-large.json"


@pytest.fixture(scope="module")
def signed(gatehouse_bin, tmp_path_factory):
    """bob (finance_approver) and mallory (no store entry) each approve the large refund."""
    d = tmp_path_factory.mktemp("approvals")

    def run(*args: str) -> str:
        return subprocess.run([str(gatehouse_bin), *args], capture_output=True, text=True, check=True).stdout

    bob_line = run("keygen", "--out", str(d / "bob.key")).strip()
    run("keygen", "--out", str(d / "mallory.key"))
    store = f'[[approver]]\nid = "bob"\nroles = ["finance_approver"]\n{bob_line}\n'
    (d / "approvers.toml").write_text(store)

    def approve(key: str, approver: str, action: str, decision: str = "approve") -> str:
        out = run(
            "approve", "--key", str(d / key), "--approver", approver, "--policy", str(POLICY),
            "--input", action, "--decision", decision, "--reason", "order checked", "--expires-in", "12h",
        )
        assert out.startswith("- "), out
        return out[2:].strip()

    other = d / "other.json"
    changed = json.loads(ACTION.read_text())
    changed["action"]["amount"] = 2501
    other.write_text(json.dumps(changed))
    return {
        "store": gatehouse.TrustStore.from_toml(store),
        "store_path": d / "approvers.toml",
        "bob": approve("bob.key", "bob", str(ACTION)),
        "bob_reject": approve("bob.key", "bob", str(ACTION), "reject"),
        "bob_other": approve("bob.key", "bob", str(other)),
        "mallory": approve("mallory.key", "bob", str(ACTION)),
        "changed": changed,
    }


def test_a_signed_approval_lets_the_action_execute(agent_policy, signed):
    v = agent_policy.verify(ACTION.read_text(), [signed["bob"]], signed["store"])
    assert v.verdict == "execute" and v.may_execute
    assert v.action_digest == agent_policy.evaluate(ACTION.read_text()).action_digest
    assert v.to_dict()["format"] == "gatehouse.verification/1"
    assert json.loads(v.to_json()) == v.to_dict()
    loaded = gatehouse.TrustStore.load(signed["store_path"])
    assert agent_policy.verify(json.loads(ACTION.read_text()), [signed["bob"]], loaded).may_execute


def test_no_approval_is_pending(agent_policy, signed):
    v = agent_policy.verify(ACTION.read_text(), [], signed["store"])
    assert v.verdict == "pending" and not v.may_execute and v.missing_approvals == 1


def test_an_approval_of_another_action_does_not_count(agent_policy, signed):
    v = agent_policy.verify(ACTION.read_text(), [signed["bob_other"]], signed["store"])
    assert not v.may_execute and "DIGEST_MISMATCH" in v.reason_codes
    # ... and the approval of the original does not carry over to the changed action.
    v = agent_policy.verify(signed["changed"], [signed["bob"]], signed["store"])
    assert not v.may_execute and "DIGEST_MISMATCH" in v.reason_codes


def test_a_key_the_store_does_not_list_is_refused(agent_policy, signed):
    v = agent_policy.verify(ACTION.read_text(), [signed["mallory"]], signed["store"])
    assert not v.may_execute and "UNKNOWN_KEY" in v.reason_codes


def test_a_forged_signature_is_refused(agent_policy, signed):
    head, payload, sig = signed["bob"].split(".")
    forged = ".".join([head, payload, ("A" if sig[0] != "A" else "B") + sig[1:]])
    v = agent_policy.verify(ACTION.read_text(), [forged], signed["store"])
    assert not v.may_execute and "BAD_SIGNATURE" in v.reason_codes


def test_a_rejection_denies(agent_policy, signed):
    v = agent_policy.verify(ACTION.read_text(), [signed["bob"], signed["bob_reject"]], signed["store"])
    assert v.verdict == "denied" and not v.may_execute


def test_an_expired_approval_does_not_count(agent_policy, signed):
    v = agent_policy.verify(ACTION.read_text(), [signed["bob"]], signed["store"], now="2099-01-01T00:00:00Z")
    assert not v.may_execute and "APPROVAL_EXPIRED" in v.reason_codes


def test_unsigned_records_count_only_when_allowed(agent_policy, signed):
    digest = agent_policy.evaluate(ACTION.read_text()).action_digest
    record = {
        "approver": "eve", "roles": ["finance_approver"], "decision": "approve", "reason": "ok",
        "action_digest": digest, "given_at": "2026-11-22T09:00:00Z", "expires_at": "2099-01-01T00:00:00Z",
    }
    assert not agent_policy.verify(ACTION.read_text(), [record], signed["store"], now="2026-11-22T10:00:00Z").may_execute


def test_unreadable_inputs_raise_instead_of_verifying(agent_policy, signed):
    with pytest.raises(ValueError):
        agent_policy.verify("{", [signed["bob"]], signed["store"])
    with pytest.raises(ValueError):
        agent_policy.verify(ACTION.read_text(), {"not": "a list"}, signed["store"])
    with pytest.raises(ValueError):
        gatehouse.TrustStore.from_toml("[[approver]]\nid = 1\n")


@pytest.mark.parametrize("amount", ["1000.0000000000000001", "7.740319472423634e-245", "0.30000000000000004"])
def test_verify_binds_to_the_same_digest_as_the_decision(agent_policy, signed, amount):
    """Exact digits: the digest verify checks is the decision's (and the CLI's), whatever the number."""
    import decimal

    action = json.loads(ACTION.read_text())
    action["action"]["amount"] = decimal.Decimal(amount)
    decision = agent_policy.evaluate(action)
    v = agent_policy.verify(action, [], signed["store"])
    assert v.action_digest == decision.action_digest == gatehouse.action_digest(action)
    text = ACTION.read_text().replace('"amount": 2500', f'"amount": {amount}')
    assert gatehouse.action_digest(text) == decision.action_digest
