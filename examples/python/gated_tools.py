"""Put a tool behind the gate, in-process: run, ask for a signed approval, or refuse.

    python examples/python/gated_tools.py      # needs gatehouse-py and the gatehouse binary
"""

from __future__ import annotations

import json

import gatehouse
from approver import CONTEXT, POLICY, Approver
from gatehouse.gating import ActionBlocked, ApprovalRequired, Gate

bob = Approver()
gate = Gate(gatehouse.Policy.load(POLICY), trust=gatehouse.TrustStore.load(bob.trust_file), context=CONTEXT)


@gate.tool
def refund(amount: float, summary: str) -> str:
    """Refunds an order (the real payment call goes here)."""
    return f"refunded {amount} EUR"


# 1. 250 EUR needs a support lead: the call raises before the tool runs.
try:
    refund(250, "Refund order 55102 (damaged in transit)")
except ApprovalRequired as e:
    print(f"needs {e.outcome} approval of {e.action_digest} ({', '.join(e.reason_codes)})")
    pending = e

# 2. Bob reviews the exact action and signs it. His approval does not
#    stretch to 2 500 EUR: another action, another digest.
token = bob.sign(pending.action)
try:
    refund.call_with_approvals([token], 2500, "Refund order 55102 (damaged in transit)")
except ApprovalRequired as e:
    print("another amount:", e.reason_codes)

# 3. For the 250 EUR he approved it runs, once.
print(refund.call_with_approvals([token], 250, "Refund order 55102 (damaged in transit)"))
try:
    refund.call_with_approvals([token], 250, "Refund order 55102 (damaged in transit)")
except ApprovalRequired as e:
    print("the same approval again:", e.reason_codes)

# 4. Beyond every approver's limit the policy blocks; nobody is asked.
try:
    refund(150000, "Refund everything")
except ActionBlocked as e:
    print("blocked:", json.dumps(e.reason_codes))
