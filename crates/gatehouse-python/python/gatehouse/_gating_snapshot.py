"""The gate's private copy of one call's arguments, taken before anything is decided.

Invariant: the gate decides, verifies, claims and runs the tool with the
*snapshot*, never with the caller's objects. Whoever still holds the
caller's list or dict (another thread or task of the agent, an approval
provider) can change it after the decision without changing what runs.

``copy.deepcopy`` runs code of the arguments' own (``__deepcopy__``,
``__reduce_ex__``): a hostile argument can hand back itself, or an object
it shares with the original. After copying, the snapshot is walked and
refused with :class:`TypeError` when any mutable object in it is also
reachable from the original arguments. Immutable values of known types
(``str``, ``int``, ``tuple`` of those, enum members, functions, ...) may be
shared: nobody can change them.
"""

from __future__ import annotations

import copy
import datetime as _dt
import decimal
import enum
import fractions
import pathlib
import types
import uuid
from typing import Any

__all__ = ["SharedArgumentError", "deep_snapshot"]

#: Types whose instances cannot change (exact types: a subclass may add
#: mutable attributes). They may be shared by the snapshot and the original.
_IMMUTABLE: frozenset[type] = frozenset(
    {
        str,
        bytes,
        int,
        float,
        complex,
        bool,
        type(None),
        range,
        type(Ellipsis),
        type(NotImplemented),
        decimal.Decimal,
        fractions.Fraction,
        _dt.datetime,
        _dt.date,
        _dt.time,
        _dt.timedelta,
        _dt.timezone,
        uuid.UUID,
        types.FunctionType,
        types.BuiltinFunctionType,
        types.ModuleType,
    }
)

#: Containers that are immutable themselves but may hold mutable objects.
_IMMUTABLE_CONTAINERS = (tuple, frozenset)


class SharedArgumentError(TypeError):
    """An argument's copy shares a mutable object with the argument itself
    (a ``__deepcopy__`` that returns ``self``, say): the gate cannot
    protect the call from changes after the decision, so it refuses it."""


def _opaque(obj: Any) -> bool:
    """Whether ``obj`` may be shared: an immutable value of a known type."""
    t = type(obj)
    return t in _IMMUTABLE or isinstance(obj, (enum.Enum, type, pathlib.PurePath))


def _children(obj: Any) -> list[Any]:
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict):
        return list(attrs.values())
    return []


def _mutable_ids(root: Any) -> dict[int, Any]:
    """Every mutable object reachable from ``root`` (through containers and
    instance ``__dict__``), by id. Iterative: no recursion limit, cycles
    visited once. The objects are kept in the map so their ids stay theirs."""
    found: dict[int, Any] = {}
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or _opaque(obj):
            continue
        seen.add(id(obj))
        if not isinstance(obj, _IMMUTABLE_CONTAINERS):
            found[id(obj)] = obj
        stack.extend(_children(obj))
    return found


def deep_snapshot(name: str, what: str, value: Any) -> Any:
    """A deep copy of ``value`` that shares no mutable object with it.

    Raises :class:`TypeError` when the value cannot be copied and
    :class:`SharedArgumentError` (a ``TypeError``) when its copy still shares
    a mutable object with it. ``name`` and ``what`` only word the error.
    """
    try:
        snap = copy.deepcopy(value)
    except Exception as e:  # RecursionError, a lock, a hostile __deepcopy__: typed
        raise TypeError(f"{name}: {what} cannot be copied for the gate: {type(e).__name__}: {e}") from e
    if not _opaque(snap):
        original = _mutable_ids(value)
        shared = [o for i, o in _mutable_ids(snap).items() if i in original]
        if shared:
            raise SharedArgumentError(
                f"{name}: {what} shares a mutable {type(shared[0]).__name__} with its copy; "
                "the gate cannot keep it from changing after the decision"
            )
    return snap
