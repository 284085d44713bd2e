"""A stand-in for the person who approves: an Ed25519 key made with
`gatehouse keygen`, a trust store listing it, and `gatehouse approve` to sign.

In production the approver signs in your review UI (or with the CLI on their
own machine) and the policy owner keeps approvers.toml; the examples do both
in a temporary directory so they run anywhere the `gatehouse` binary is
(on PATH, or named by GATEHOUSE_BIN).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import tempfile
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "ai-agent-actions"

# Who asks and which agent proposes: every action carries it. The call's own
# arguments go under `action`, with the tool name as `action.type`.
CONTEXT = {
    "requester": {"id": "u-1042", "roles": ["support_agent"]},
    "agent": {"id": "agent-refunds", "owner": "u-2001"},
    "model": {"route": "support/refund-agent-v1", "confidence": 0.9},
    "environment": {"name": "production"},
    "action": {"target": "payments", "scope": "external", "customer_facing": True,
               "reversibility": "irreversible", "data_classes": ["internal"], "currency": "EUR"},
    "evidence": {"impact_estimate": {"amount": "250", "currency": "EUR"},
                 "policy_match": "refund-policy-2024 section 3.2", "customer_record": "crm://accounts/ACC-20931",
                 "alternatives": ["replacement shipment"]},
}  # fmt: skip


def _bin() -> str:
    found = os.environ.get("GATEHOUSE_BIN") or shutil.which("gatehouse")
    if not found:
        raise SystemExit("the examples need the gatehouse binary: put it on PATH or set GATEHOUSE_BIN")
    return found


class Approver:
    """One person (`bob`, a support lead) with a key, and the trust store naming him."""

    def __init__(self, identity: str = "bob", roles: tuple[str, ...] = ("support_lead",)) -> None:
        self.identity = identity
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="gatehouse-example-"))
        self.key = self.dir / f"{identity}.key"
        keys_line = subprocess.run(
            [_bin(), "keygen", "--out", str(self.key)], check=True, capture_output=True, text=True
        ).stdout.strip()
        self.trust_file = self.dir / "approvers.toml"
        self.trust_file.write_text(f'[[approver]]\nid = "{identity}"\nroles = {json.dumps(list(roles))}\n{keys_line}\n')

    def sign(self, action: Any, *, decision: str = "approve", reason: str = "checked against the refund policy") -> str:
        """A signed approval (compact JWS) of this exact action under the shipped policy."""
        action_file = self.dir / "action.json"
        action_file.write_text(json.dumps(action))
        return subprocess.run(
            [_bin(), "approve", "--key", str(self.key), "--approver", self.identity, "--policy", str(POLICY),
             "--input", str(action_file), "--decision", decision, "--reason", reason, "--expires-in", "1h", "--raw"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
