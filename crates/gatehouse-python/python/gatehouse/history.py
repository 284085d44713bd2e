"""History at scale: replay an audit log, or diff a candidate policy over past actions, on Ray Data.

``impact_diff(old, new, data)`` is ``gatehouse diff OLD NEW --inputs FILE``
and ``replay(policy, data)`` is ``gatehouse replay FILE --policy P``, run as
Ray Data ``map_batches`` over the lines of one or more files (or any Ray
``Dataset`` with a text column): each batch is read by the engine's own
code (the CLI's rules for skipped and unreadable lines), and the per-batch
reports are added up here into the counts and transitions the CLI's
``--format json`` reports.

Policies travel to the workers as their sources (file name and text, what
``Policy.load`` compiles) and are compiled once per worker process.

What a sequential reader alone can give is left out: line numbers (the
examples of each transition, ``unreadable_lines``) and the log's hash chain
(``gatehouse audit verify`` checks it).

Files are split into byte ranges (``RANGE_BYTES``); each task reads the
whole lines that start in its range and hands them to the engine as they
are, so lines, blank lines and over-long lines count exactly as in the
CLI. A Dataset row holding an embedded newline is two lines, as in a file;
a null row is the line ``null``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from ._native import Policy, impact_batch, policy_sources, replay_batch
from ._outcome import Outcome

if TYPE_CHECKING:
    import pyarrow  # type: ignore[import-untyped,unused-ignore]
    import ray.data

__all__ = [
    "ImpactSummary",
    "ImpactTransition",
    "PolicySource",
    "ReplaySummary",
    "ReplayTransition",
    "RuleTally",
    "impact_diff",
    "replay",
    "sources_of",
]

PolicySource = Union[str, "os.PathLike[str]", Mapping[str, str], Sequence[tuple[str, str]]]
"""A policy as it travels to workers: a path (``.gate`` file or set directory), or its sources."""

Sources = tuple[tuple[str, str], ...]

# The CLI's order of transitions: by kind (loosen, tighten, same-outcome),
# then by (old, new) outcome rank.
_CHANGE_ORDER = {"loosen": 0, "tighten": 1, "same-outcome": 2}
_IMPACT_COUNTS = (
    "lines",
    "inputs",
    "unchanged",
    "changed",
    "loosened",
    "tightened",
    "same_outcome",
    "no_input_recorded",
    "other_records",
    "unreadable",
)
_REPLAY_COUNTS = (
    "decisions",
    "identical",
    "identical_except_paths",
    "determinism_bugs",
    "digest_mismatches",
    "unchanged",
    "changed",
    "cannot_replay",
    "verifications",
    "transitions_skipped",
    "bad_lines",
)


def sources_of(policy: PolicySource) -> Sources:
    """The ``(file name, text)`` pairs of a policy: read from a path as ``Policy.load`` reads it, or given."""
    if isinstance(policy, (str, os.PathLike)):
        return tuple(policy_sources(os.fspath(policy)))
    if isinstance(policy, Mapping):
        return tuple((str(k), str(v)) for k, v in policy.items())
    pairs = tuple((str(name), str(text)) for name, text in policy)
    if not pairs:
        raise ValueError("a policy needs at least one source file")
    return pairs


# One compiled policy per sources per worker process (Ray reuses workers).
_COMPILED: dict[Sources, Policy] = {}


def _compiled(sources: Sources) -> Policy:
    policy = _COMPILED.get(sources)
    if policy is None:
        if len(_COMPILED) >= 8:
            _COMPILED.clear()
        policy = Policy.from_sources(list(sources))
        _COMPILED[sources] = policy
    return policy


@dataclasses.dataclass(frozen=True)
class RuleTally:
    """How often one rule matched differently within a transition."""

    rule: str
    newly_matched: int
    no_longer_matched: int
    changed: int

    @property
    def total(self) -> int:
        """All three counts together (the CLI sorts rules by it, most first)."""
        return self.newly_matched + self.no_longer_matched + self.changed


@dataclasses.dataclass(frozen=True)
class ImpactTransition:
    """Inputs whose decision went from ``old`` to ``new`` (or changed within one outcome)."""

    old: Outcome
    new: Outcome
    change: str
    count: int
    rules: tuple[RuleTally, ...]


@dataclasses.dataclass(frozen=True)
class ImpactSummary:
    """What ``gatehouse diff --format json`` counts, added up over every batch."""

    lines: int
    inputs: int
    unchanged: int
    changed: int
    loosened: int
    tightened: int
    same_outcome: int
    no_input_recorded: int
    other_records: int
    unreadable: int
    transitions: tuple[ImpactTransition, ...]
    unreadable_messages: tuple[str, ...]
    """The first few reasons lines were unreadable (without line numbers)."""

    @property
    def loosens(self) -> bool:
        """Whether any decision got less strict (``gatehouse diff --fail-on-loosen``)."""
        return self.loosened > 0

    def to_dict(self) -> dict[str, Any]:
        """The counts and transitions in the CLI's JSON field names and order."""
        out: dict[str, Any] = {name: getattr(self, name) for name in _IMPACT_COUNTS}
        out["transitions"] = [
            {
                "old": t.old.keyword,
                "new": t.new.keyword,
                "change": t.change,
                "count": t.count,
                "rules": [dataclasses.asdict(r) for r in t.rules],
            }
            for t in self.transitions
        ]
        return out


@dataclasses.dataclass(frozen=True)
class ReplayTransition:
    """Decisions recorded as ``from_`` that the replay policy decides as ``to``."""

    from_: Outcome
    to: Outcome
    count: int


@dataclasses.dataclass(frozen=True)
class ReplaySummary:
    """What ``gatehouse replay --format json`` counts, added up over every batch."""

    counts: Mapping[str, int]
    """``summary`` of the CLI's report: decisions, identical, ..., bad_lines."""
    transitions: tuple[ReplayTransition, ...]
    record_mismatches: int

    @property
    def has_failures(self) -> bool:
        """A determinism bug, a digest mismatch or a corrupt record (the CLI's exit 1, without the chain)."""
        return bool(
            self.counts["determinism_bugs"] or self.counts["digest_mismatches"] or self.record_mismatches
        )

    def to_dict(self) -> dict[str, Any]:
        """``summary``, ``transitions`` and ``record_mismatches`` in the CLI's JSON form."""
        return {
            "summary": dict(self.counts),
            "transitions": [
                {"from": t.from_.keyword, "to": t.to.keyword, "count": t.count} for t in self.transitions
            ],
            "record_mismatches": self.record_mismatches,
        }


def merge_impact(reports: Iterable[Mapping[str, Any]]) -> ImpactSummary:
    """Adds up per-batch ``ImpactReport`` JSON objects (the native ``impact_batch`` output)."""
    counts = dict.fromkeys(_IMPACT_COUNTS, 0)
    messages: list[str] = []
    transitions: dict[tuple[int, int], dict[str, Any]] = {}
    for report in reports:
        for name in _IMPACT_COUNTS:
            counts[name] += int(report[name])
        for line in report["unreadable_lines"]:
            if len(messages) < 10:
                messages.append(str(line["message"]))
        for t in report["transitions"]:
            key = (int(Outcome.parse(t["old"])), int(Outcome.parse(t["new"])))
            ours = transitions.setdefault(key, {"change": t["change"], "count": 0, "rules": {}})
            ours["count"] += int(t["count"])
            for r in t["rules"]:
                tally = ours["rules"].setdefault(r["rule"], [0, 0, 0])
                tally[0] += int(r["newly_matched"])
                tally[1] += int(r["no_longer_matched"])
                tally[2] += int(r["changed"])
    merged = []
    for (old, new), t in transitions.items():
        rules = [RuleTally(name, *tally) for name, tally in t["rules"].items()]
        rules.sort(key=lambda r: (-r.total, r.rule))
        merged.append(ImpactTransition(Outcome(old), Outcome(new), t["change"], t["count"], tuple(rules)))
    merged.sort(key=lambda t: (_CHANGE_ORDER[t.change], int(t.old), int(t.new)))
    return ImpactSummary(**counts, transitions=tuple(merged), unreadable_messages=tuple(messages))


def merge_replay(reports: Iterable[Mapping[str, Any]]) -> ReplaySummary:
    """Adds up per-batch replay reports (the native ``replay_batch`` output)."""
    counts = dict.fromkeys(_REPLAY_COUNTS, 0)
    torn = False
    mismatches = 0
    transitions: dict[tuple[int, int], int] = {}
    for report in reports:
        summary = report["summary"]
        for name in _REPLAY_COUNTS:
            counts[name] += int(summary[name])
        torn = torn or bool(summary["torn_tail"])
        mismatches += int(report["record_mismatches"])
        for t in report["transitions"]:
            key = (int(Outcome.parse(t["from"])), int(Outcome.parse(t["to"])))
            transitions[key] = transitions.get(key, 0) + int(t["count"])
    merged_counts: dict[str, Any] = dict(counts)
    merged_counts["torn_tail"] = torn
    return ReplaySummary(
        counts=merged_counts,
        transitions=tuple(
            ReplayTransition(Outcome(a), Outcome(b), n) for (a, b), n in sorted(transitions.items())
        ),
        record_mismatches=mismatches,
    )


def _impact_worker(
    batch: "pyarrow.Table", *, old: Sources, new: Sources, column: str, strict: bool
) -> "pyarrow.Table":
    """One Ray batch: the engine's impact report for its lines, as one JSON row."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    report = impact_batch(_compiled(old), _compiled(new), batch, column=column, strict=strict)
    return pa.table({"report": [report]})


def _replay_worker(batch: "pyarrow.Table", *, policy: Sources, column: str) -> "pyarrow.Table":
    """One Ray batch: the engine's replay report for its lines, as one JSON row."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    return pa.table({"report": [replay_batch(_compiled(policy), batch, column=column)]})


RANGE_BYTES = 32 * 1024 * 1024
"""Bytes of a file one Ray task reads (then completed to the end of its last line)."""
_MAX_LINE = 64 * 1024 * 1024
"""The CLI's longest line (``gatehouse::limits::MAX_INPUT_BYTES``): longer ones are unreadable, unread."""

Data = Union["ray.data.Dataset", str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]
"""Where the lines are: a file, a list of files, or a Ray Dataset with a text column."""


def file_ranges(
    paths: Sequence[Union[str, "os.PathLike[str]"]], range_bytes: int = RANGE_BYTES
) -> list[dict[str, Any]]:
    """Splits files into byte ranges; each line belongs to the range its first byte is in."""
    if range_bytes < 1:
        raise ValueError("range_bytes must be at least 1")
    out: list[dict[str, Any]] = []
    for path in paths:
        name = os.fspath(path)
        size = os.path.getsize(name)
        out.extend({"path": name, "start": s, "end": min(s + range_bytes, size)} for s in range(0, size, range_bytes))
    return out


def _skip_line(f: Any) -> None:
    """Consumes up to and including the next newline, holding at most 1 MiB at a time."""
    while True:
        chunk = f.readline(1024 * 1024)
        if not chunk or chunk.endswith(b"\n"):
            return


def read_range(path: str, start: int, end: int) -> bytes:
    """The whole lines that start in ``[start, end)`` of ``path``, as the file holds them.

    A line longer than the CLI's limit is cut after ``limit + 1`` bytes and
    ends with a newline: the engine's reader then counts it, as the CLI
    does, as one unreadable line, without more of it in memory.
    """
    with open(path, "rb") as f:
        if start > 0:
            f.seek(start - 1)
            _skip_line(f)  # the line holding byte start-1 belongs to the range before
        first = f.tell()
        if first >= end:
            return b""
        data: bytes = f.read(end - first)
        if data and not data.endswith(b"\n"):
            rest: bytes = f.readline(_MAX_LINE + 2)
            data += rest
            if len(rest) > _MAX_LINE and not rest.endswith(b"\n"):
                _skip_line(f)
                data += b"\n"
        return data


def _per_range(batch: "pyarrow.Table", report: Any) -> "pyarrow.Table":
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    rows = batch.to_pylist()
    return pa.table({"report": [report(read_range(r["path"], r["start"], r["end"])) for r in rows]})


def _impact_ranges(batch: "pyarrow.Table", *, old: Sources, new: Sources, strict: bool) -> "pyarrow.Table":
    """One Ray task: the impact report of the lines of its file ranges."""
    return _per_range(batch, lambda text: impact_batch(_compiled(old), _compiled(new), text, strict=strict))


def _replay_ranges(batch: "pyarrow.Table", *, policy: Sources) -> "pyarrow.Table":
    """One Ray task: the replay report of the lines of its file ranges."""
    return _per_range(batch, lambda text: replay_batch(_compiled(policy), text))


def _run(
    data: Data, lines_worker: Any, ranges_worker: Any, batch_size: int, range_bytes: int
) -> list[dict[str, Any]]:
    """Runs one of the workers over a Dataset of lines, or over byte ranges of files."""
    import ray.data

    if isinstance(data, ray.data.Dataset):
        ds = data.map_batches(lines_worker, batch_format="pyarrow", batch_size=batch_size, zero_copy_batch=True)
    else:
        paths = [data] if isinstance(data, (str, os.PathLike)) else list(data)
        ranges = file_ranges(paths, range_bytes)
        if not ranges:
            return []
        ds = ray.data.from_items(ranges, override_num_blocks=len(ranges)).map_batches(
            ranges_worker, batch_format="pyarrow", batch_size=1
        )
    return [json.loads(row["report"]) for row in ds.iter_rows()]


def impact_diff(
    old: PolicySource,
    new: PolicySource,
    data: Data,
    *,
    column: str = "text",
    strict: bool = False,
    batch_size: int = 8192,
    range_bytes: int = RANGE_BYTES,
) -> ImpactSummary:
    """``gatehouse diff OLD NEW --inputs FILE`` on Ray Data.

    ``data`` is a file, a list of files (split into byte ranges of whole
    lines, one Ray task each), or a ``ray.data.Dataset`` whose ``column``
    holds one corpus line per row
    (an action, or an audit record whose ``input`` is the action). The
    counts and transitions equal ``gatehouse diff --format json``'s.
    ``batch_size`` is the rows per Ray batch of a Dataset, ``range_bytes``
    the bytes per Ray task of a file.
    """
    o, n = sources_of(old), sources_of(new)
    lines = functools.partial(_impact_worker, old=o, new=n, column=column, strict=strict)
    ranges = functools.partial(_impact_ranges, old=o, new=n, strict=strict)
    return merge_impact(_run(data, lines, ranges, batch_size, range_bytes))


def replay(
    policy: PolicySource,
    data: Data,
    *,
    column: str = "text",
    batch_size: int = 8192,
    range_bytes: int = RANGE_BYTES,
) -> ReplaySummary:
    """``gatehouse replay LOG --policy P`` on Ray Data (without the hash chain check).

    ``data`` is an audit log, a list of logs, or a ``ray.data.Dataset`` of
    log lines in ``column``. The summary counts and transitions equal
    ``gatehouse replay --format json``'s.
    """
    p = sources_of(policy)
    lines = functools.partial(_replay_worker, policy=p, column=column)
    ranges = functools.partial(_replay_ranges, policy=p)
    return merge_replay(_run(data, lines, ranges, batch_size, range_bytes))

