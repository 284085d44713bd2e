"""Decide Apache Arrow data in bulk: a table in, a table of decisions out.

``evaluate(policy, data)`` (or ``policy.evaluate_arrow(data)``) takes a
pyarrow ``Table`` / ``RecordBatch`` / ``RecordBatchReader`` / ``Array``, a
polars ``DataFrame``, or anything with the Arrow PyCapsule interface
(``__arrow_c_stream__`` / ``__arrow_c_array__``), and returns a
``pyarrow.Table`` with one decision row per input row, in order.

The actions are read from ``column`` (default ``"action"``): JSON text
(utf8, large_utf8, string_view; read in place, the fast path) or a struct
column, written as JSON first. ``column=None`` decides each whole row (its
columns are the action's top-level fields). A bare array is the column.

A row that is not a valid action (null, not JSON, a wrong type) is a
``block`` row with ``INVALID_INPUT`` in ``reasons`` and the JSON path in
``input_errors``: never an exception, never dropped. Only a call that
cannot be read at all (not Arrow data, no such column, a column of another
type) raises (``TypeError``, ``KeyError``).

The output columns (``SCHEMA``; ``action_digest`` only with ``digest=True``):

=====================  ==============================  ===============================================
column                 type                            meaning
=====================  ==============================  ===============================================
outcome                dictionary<uint8, utf8>         ``auto`` ... ``block`` (keys are the ranks)
outcome_rank           uint8                           ``int(gatehouse.Outcome)``: 0 auto ... 4 block
tier                   uint32, nullable                the tier's number (null when none applies)
tier_name              utf8, nullable                  the tier's name
reasons                list<utf8>                      reason codes, in the decision's order
approvals_required     uint32, nullable                approvals needed; null for auto and block
roles                  list<utf8>                      roles that may approve, in order, no duplicates
evidence_missing       list<utf8>                      required evidence the action lacks
input_errors           list<struct<path, message>>     why the input was refused (empty when valid)
policy_digest          dictionary<int8, utf8>          ``sha256:`` of the policy set
action_digest          utf8, nullable                  ``sha256:`` of the action (``digest=True``)
=====================  ==============================  ===============================================
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any, Optional, Union

from ._native import Policy
from ._native import evaluate_arrow as _evaluate_arrow

if TYPE_CHECKING:
    import pyarrow  # type: ignore[import-untyped,unused-ignore]

__all__ = ["COLUMNS", "evaluate"]

COLUMNS: tuple[str, ...] = (
    "outcome",
    "outcome_rank",
    "tier",
    "tier_name",
    "reasons",
    "approvals_required",
    "roles",
    "evidence_missing",
    "input_errors",
    "policy_digest",
)
"""The output's columns, in order (``action_digest`` follows with ``digest=True``)."""


def evaluate(
    policy: Policy,
    data: Any,
    *,
    column: Optional[str] = "action",
    now: Union[str, datetime.datetime, None] = None,
    strict: bool = False,
    digest: bool = False,
) -> "pyarrow.Table":
    """Decides every row of ``data`` with ``policy``; one decision row per input row.

    ``now`` (RFC 3339 text or an aware datetime) and ``strict`` are those of
    ``Policy.evaluate``; ``digest=True`` adds ``action_digest`` (it costs
    more than the decision itself). The GIL is released while deciding, and
    large batches use every core.
    """
    import pyarrow  # type: ignore[import-untyped,unused-ignore]  # noqa: F401 (fail early, clearly)

    return _evaluate_arrow(policy, data, column=column, now=now, strict=strict, digest=digest)
