"""The in-process gate's memory of approvals already used: each is spent once.

A signed approval (a compact JWS from ``gatehouse approve``, or an OIDC
envelope ``{"payload", "id_token"}``) is identified by its *payload*: the
approver, the decision, the digest(s), ``given_at`` and ``expires_at``. Two
tokens with one payload are one approval (Ed25519 is deterministic, and an
envelope's ID token is bound to its payload by the nonce), so keying on the
payload stops a replay through a re-signed or re-wrapped copy too.

Invariant: an entry is kept until its approval has expired; after that the
engine refuses the approval itself (``APPROVAL_EXPIRED``), so forgetting it
cannot let it count again. The ledger therefore holds at most the approvals
that are still valid, and never grows without bound.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ApprovalFacts", "Ledger", "RecentIds", "approval_facts"]

#: Approvals larger than this are not decoded here (the engine refuses a
#: token above 16 KiB anyway); they are keyed by their hash alone.
_MAX_DECODE = 64 * 1024


@dataclass(frozen=True)
class ApprovalFacts:
    """What the ledger needs to know of one approval."""

    key: str
    """SHA-256 of the approval's payload: its identity for replay checks."""
    digests: frozenset[str]
    """The action digests the approval names (empty when unreadable)."""
    expires_at: _dt.datetime | None
    """When it stops counting (``None`` when unreadable: kept for ever)."""


def _b64url(segment: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _payload_bytes(approval: Any) -> bytes | None:
    if isinstance(approval, str) and len(approval) <= _MAX_DECODE:
        parts = approval.split(".")
        if len(parts) == 3:
            return _b64url(parts[1])
    if isinstance(approval, Mapping):
        payload = approval.get("payload")
        if isinstance(payload, str) and len(payload) <= _MAX_DECODE:
            return _b64url(payload)
    return None


#: The fraction of a second in an RFC 3339 time (``gatehouse approve``
#: writes nanoseconds).
_FRACTION = re.compile(r"\.(\d+)")


def _parse_time(value: Any) -> _dt.datetime | None:
    """An approval's ``expires_at``, rounded UP to the microsecond.

    ``datetime`` holds microseconds and ``fromisoformat`` truncates the rest,
    while the engine compares nanoseconds: truncated, the ledger would forget
    a spent approval up to 1 µs before the engine stops accepting it. Rounded
    up, the ledger's expiry is never earlier than the engine's.
    """
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    fraction = _FRACTION.search(value)
    if fraction is not None and fraction.group(1)[6:].strip("0"):
        try:
            parsed += _dt.timedelta(microseconds=1)
        except OverflowError:
            return None  # year 9999: kept for ever, which is safe
    return parsed


def approval_facts(approval: Any) -> ApprovalFacts:
    """Reads an approval's identity, digests and expiry without trusting it.

    Nothing here authenticates: ``Policy.verify`` does. This only decides
    which ledger entry an approval would spend.
    """
    raw = _payload_bytes(approval)
    if raw is None:
        fallback = json.dumps(approval, sort_keys=True, default=repr) if not isinstance(approval, str) else approval
        return ApprovalFacts(hashlib.sha256(fallback.encode("utf-8", "surrogatepass")).hexdigest(), frozenset(), None)
    key = hashlib.sha256(raw).hexdigest()
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return ApprovalFacts(key, frozenset(), None)
    if not isinstance(doc, dict):
        return ApprovalFacts(key, frozenset(), None)
    digests: set[str] = set()
    if isinstance(doc.get("action_digest"), str):
        digests.add(doc["action_digest"])
    listed = doc.get("action_digests")
    if isinstance(listed, list):
        digests.update(d for d in listed if isinstance(d, str))
    return ApprovalFacts(key, frozenset(digests), _parse_time(doc.get("expires_at")))


class Ledger:
    """Approvals spent by executed calls, shared by every tool of one gate.

    Thread-safe. ``lock`` is held by the gate across *filter, verify, spend*
    so two concurrent calls can never both spend one approval.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._spent: dict[str, _dt.datetime | None] = {}

    def __len__(self) -> int:
        return len(self._spent)

    def is_spent(self, facts: ApprovalFacts) -> bool:
        """Whether this approval already let a call execute. Caller holds ``lock``."""
        return facts.key in self._spent

    def spend(self, facts: Iterable[ApprovalFacts], now: _dt.datetime) -> None:
        """Marks approvals used, and forgets those expired. Caller holds ``lock``."""
        for f in facts:
            self._spent[f.key] = f.expires_at
        expired = [k for k, exp in self._spent.items() if exp is not None and exp <= now]
        for k in expired:
            del self._spent[k]


def split_spent(
    ledger: Ledger, approvals: Sequence[Any]
) -> tuple[list[Any], list[ApprovalFacts], int]:
    """The approvals not yet spent, their facts, and how many were replays.

    Caller holds ``ledger.lock``.
    """
    fresh: list[Any] = []
    facts: list[ApprovalFacts] = []
    replayed = 0
    for a in approvals:
        f = approval_facts(a)
        if ledger.is_spent(f):
            replayed += 1
            continue
        fresh.append(a)
        facts.append(f)
    return fresh, facts, replayed


class RecentIds:
    """A thread-safe, bounded set of ids (the newest ``size`` kept).

    The service gate records here the ``queue`` requests it ran, so one
    request runs once through it even when an idempotency key's replay
    answers the same request again.
    """

    def __init__(self, size: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    def add(self, key: str) -> bool:
        """Records ``key``; ``False`` when it was recorded already."""
        with self._lock:
            if key in self._ids:
                return False
            self._ids[key] = None
            while len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True
