"""Shared pieces of the gating tests: a small tool policy, approvers with
real Ed25519 keys (``gatehouse keygen``) and signed approvals (``gatehouse
approve``), made with the CLI binary exactly as an approver would."""

from __future__ import annotations

import dataclasses
import json
import pathlib
import subprocess
from typing import Any

import pytest

import gatehouse
from gatehouse.gating import ApprovalInbox, Gate

# Five tools, one per outcome: lookup (auto), send_email (queue), refund
# above 100 (explicit, a support lead), delete_records (dual: a support
# lead and a data owner) and wire_transfer (block).
TOOLS_POLICY = """\
policy "tools" version "1.0.0" combine strictest

schema {
  action.type: enum { lookup, send_email, refund, refund_vip, delete_records, wire_transfer }
  action.amount: number?
  requester.id: string
  agent.owner: string
}
role support_lead
role data_owner

reason EMAIL_OUT "e-mail leaves the company"
reason LARGE_REFUND "refund above 100"
reason DELETION "records are deleted"
reason WIRE_TRANSFER "agents never wire money"

tier 0 "no effect" { outcome auto }
tier 1 "reviewed afterwards" { outcome queue }
tier 3 "a person" {
  outcome explicit
  approve support_lead
  timeout 24h then reject
  forbid approval by requester.id, agent.owner
}
tier 4 "two people" {
  outcome dual
  approve support_lead and data_owner
  timeout 48h then reject
  forbid approval by requester.id, agent.owner
}
tier 5 "never" { outcome block }

rule email "e-mail is reviewed" when action.type == send_email then tier 1 because EMAIL_OUT
rule refund "large refunds need a person"
  when action.type in [refund, refund_vip] and action.amount > 100
  then tier 3
  because LARGE_REFUND
rule delete "deletion needs two" when action.type == delete_records then tier 4 because DELETION
rule wire "no wires" when action.type == wire_transfer then tier 5 because WIRE_TRANSFER

# gatehouse: allow(dangerous-auto) reason: "the test tools' reads run unattended"
default tier 0 because NO_RULE_MATCHED
"""

CONTEXT: dict[str, Any] = {
    "requester": {"id": "u-1042"},
    "agent": {"id": "agent-tools", "owner": "u-2001"},
}


@dataclasses.dataclass
class Approvers:
    """The policy on disk, its trust store, and a way to sign approvals."""

    bin: pathlib.Path
    policy_dir: pathlib.Path
    keys: dict[str, pathlib.Path]
    workdir: pathlib.Path
    policy: gatehouse.Policy
    trust: gatehouse.TrustStore

    def sign(
        self,
        action: Any,
        approver: str = "bob",
        *,
        decision: str = "approve",
        expires_in: str = "1h",
        now: str | None = None,
        key: str | None = None,
    ) -> str:
        """One signed approval (compact JWS) of ``action``, as `gatehouse approve --raw` prints it."""
        path = self.workdir / f"action-{abs(hash(json.dumps(action, sort_keys=True)))}.json"
        path.write_text(json.dumps(action))
        cmd = [
            str(self.bin), "approve", "--key", str(self.keys[key or approver]), "--approver", approver,
            "--policy", str(self.policy_dir), "--input", str(path), "--decision", decision,
            "--reason", f"{approver} checked it", "--expires-in", expires_in, "--raw",
        ]  # fmt: skip
        if now is not None:
            cmd += ["--now", now]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def gate(self, **options: Any) -> Gate:
        """An in-process gate over the tools policy with this trust store."""
        options.setdefault("trust", self.trust)
        options.setdefault("context", CONTEXT)
        return Gate(self.policy, **options)


def _keygen(bin: pathlib.Path, out: pathlib.Path) -> str:
    done = subprocess.run([str(bin), "keygen", "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith("keys = ["), line
    return line


@pytest.fixture(scope="session")
def approvers(gatehouse_bin: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> Approvers:
    """bob (support lead), carol (data owner) and mallory (a key no store lists)."""
    work = tmp_path_factory.mktemp("gating")
    policy_dir = work / "tools"
    policy_dir.mkdir()
    (policy_dir / "main.gate").write_text(TOOLS_POLICY)
    keys = {name: work / f"{name}.key" for name in ("bob", "carol", "mallory")}
    lines = {name: _keygen(gatehouse_bin, path) for name, path in keys.items()}
    store = (
        f'[[approver]]\nid = "bob"\nroles = ["support_lead"]\n{lines["bob"]}\n\n'
        f'[[approver]]\nid = "carol"\nroles = ["data_owner"]\n{lines["carol"]}\n'
    )
    (policy_dir / "approvers.toml").write_text(store)
    return Approvers(
        bin=gatehouse_bin,
        policy_dir=policy_dir,
        keys=keys,
        workdir=work,
        policy=gatehouse.Policy.load(policy_dir),
        trust=gatehouse.TrustStore.load(policy_dir / "approvers.toml"),
    )


__all__ = ["CONTEXT", "TOOLS_POLICY", "ApprovalInbox", "Approvers", "approvers"]
