"""Type aliases for annotating code that calls gatehouse."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping, Sequence
from typing import Any, Union

JsonValue = Union[None, bool, int, float, str, decimal.Decimal, Sequence["JsonValue"], Mapping[str, "JsonValue"]]
"""A JSON-shaped Python value (``decimal.Decimal`` keeps exact digits)."""

Action = Union[Mapping[str, Any], str, bytes]
"""An action: a dict (any JSON-shaped mapping), or its JSON text as ``str`` or ``bytes``."""

Moment = Union[str, datetime.datetime, None]
"""A point in time: an RFC 3339 string or a timezone-aware ``datetime``."""

__all__ = ["Action", "JsonValue", "Moment"]
