"""The five outcomes, ordered like the engine's: auto < queue < explicit < dual < block."""

from __future__ import annotations

import enum


class Outcome(enum.IntEnum):
    """How much human oversight an action needs.

    Members compare by strictness (``Outcome.DUAL > Outcome.EXPLICIT``), so
    ``max(d.outcome for d in decisions)`` is the strictest. ``str()`` and
    ``.keyword`` give the policy language's word (``"explicit"``), and
    ``Outcome.parse("explicit")`` reads it back.
    """

    AUTO = 0
    """Runs without a person."""
    QUEUE = 1
    """Runs, and a person reviews it afterwards."""
    EXPLICIT = 2
    """Waits for one approval."""
    DUAL = 3
    """Waits for two approvals from different people."""
    BLOCK = 4
    """Never runs."""

    @property
    def keyword(self) -> str:
        """The outcome's word in policies and JSON: ``"auto"`` ... ``"block"``."""
        return self.name.lower()

    @property
    def needs_approval(self) -> bool:
        """Whether the action waits for a person (explicit or dual)."""
        return self in (Outcome.EXPLICIT, Outcome.DUAL)

    @classmethod
    def parse(cls, keyword: str) -> "Outcome":
        """The member for ``"auto"``, ``"queue"``, ``"explicit"``, ``"dual"`` or ``"block"``."""
        try:
            return cls[keyword.upper()]
        except KeyError:
            raise ValueError(f"not an outcome: {keyword!r} (auto, queue, explicit, dual, block)") from None

    def __str__(self) -> str:
        return self.keyword
