"""gatehouse.history on a local Ray cluster: its counts and transitions equal the CLI's diff and replay."""

from __future__ import annotations

import json
import os
import pathlib
import random
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
import ray

import gatehouse
from gatehouse import history

from conftest import EXAMPLES, POLICIES

AGENT = POLICIES / "ai-agent-actions"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray cluster of two CPUs (the CI machine's size), shut down after the module."""
    if ray.is_initialized():  # another module's (or a docs example's) cluster
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture()
def scratch(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    """A directory on tmpfs when there is one: the CLI fsyncs every audit record it appends."""
    shm = pathlib.Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        d = shm / f"gatehouse-history-{os.getpid()}-{tmp_path.name}"
        d.mkdir()
        try:
            yield d
        finally:
            shutil.rmtree(d, ignore_errors=True)
    else:
        yield tmp_path


def candidate_policy(dest: pathlib.Path) -> pathlib.Path:
    """The shipped policy with refunds above 500 EUR (not 1000) routed to finance, in tier 4 (not 3)."""
    target = dest / "ai-agent-actions"
    shutil.copytree(AGENT, target)
    finance = target / "finance.gate"
    text = finance.read_text()
    assert "action.amount > 1000" in text
    large = "then tier 3, approve finance_approver\n  because REFUND_ABOVE_THRESHOLD"
    assert large in text
    text = text.replace("action.amount > 1000", "action.amount > 500").replace(large, large.replace("tier 3", "tier 4"))
    finance.write_text(text)
    return target


def write_actions(path: pathlib.Path, n: int, seed: int) -> None:
    """n actions (JSON lines) from the shipped examples with varied types, amounts and currencies."""
    rng = random.Random(seed)
    base = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]
    types = ["refund", "pay", "send_email", "deploy", "crm_update"]
    amounts = [-5, 0, 50, 499, 500, 501, 999, 1000, 1001, 2500, 9999, 10_001, 60_000]
    with path.open("w") as f:
        for i in range(n):
            a = json.loads(json.dumps(base[i % len(base)]))
            act = a.setdefault("action", {})
            if rng.random() < 0.4:
                act["type"] = rng.choice(types)
            if rng.random() < 0.8:
                act["amount"] = rng.choice(amounts)
            f.write(json.dumps(a, separators=(",", ":")) + "\n")


def cli(binary: pathlib.Path, *args: str, stdin: Any = None, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(binary), *args], stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, check=False, cwd=POLICIES.parent)


def audit_log(binary: pathlib.Path, actions: pathlib.Path, log: pathlib.Path) -> None:
    """Decision records written by the real CLI: `gatehouse eval --jsonl --audit-log`."""
    with actions.open("rb") as f:
        out = cli(binary, "eval", "--policy", "policies/ai-agent-actions", "--jsonl", "--audit-log", str(log), stdin=f, stdout=subprocess.DEVNULL)
    assert out.returncode in (0, 3), out.stderr.decode()


def cli_diff(binary: pathlib.Path, old: pathlib.Path, new: pathlib.Path, corpus: pathlib.Path) -> dict[str, Any]:
    out = cli(binary, "diff", str(old), str(new), "--inputs", str(corpus), "--format", "json")
    assert out.returncode in (0, 1), out.stderr.decode()
    return json.loads(out.stdout)


def cli_replay(binary: pathlib.Path, policy: pathlib.Path, log: pathlib.Path) -> dict[str, Any]:
    out = cli(binary, "replay", str(log), "--policy", str(policy), "--format", "json")
    assert out.returncode in (0, 1), out.stderr.decode()
    return json.loads(out.stdout)


def assert_impact_equal(ours: history.ImpactSummary, theirs: dict[str, Any]) -> None:
    mine = ours.to_dict()
    for name in mine:
        if name != "transitions":
            assert mine[name] == theirs[name], name
    want = [{k: t[k] for k in ("old", "new", "change", "count", "rules")} for t in theirs["transitions"]]
    assert mine["transitions"] == want


def assert_replay_equal(ours: history.ReplaySummary, theirs: dict[str, Any]) -> None:
    mine = ours.to_dict()
    assert mine["summary"] == theirs["summary"]
    assert mine["transitions"] == theirs["transitions"]
    assert mine["record_mismatches"] == theirs["record_mismatches"]


def test_policy_sources_compile_to_the_same_policy(tmp_path):
    sources = history.sources_of(AGENT)
    assert [name for name, _ in sources] == sorted(name for name, _ in sources)
    assert gatehouse.Policy.from_sources(list(sources)).digest == gatehouse.Policy.load(AGENT).digest
    assert history.sources_of(dict(sources)) == sources
    with pytest.raises(gatehouse.PolicyError):
        history.sources_of(tmp_path / "missing")


def test_odd_lines_are_counted_as_the_cli_counts_them(local_ray, gatehouse_bin, scratch):
    actions = scratch / "actions.jsonl"
    write_actions(actions, 600, seed=1)
    log = scratch / "audit.jsonl"
    audit_log(gatehouse_bin, actions, log)
    records = log.read_text().splitlines()
    first = json.loads(records[0])
    redacted = {**first, "redacted": ["$.action.amount"]}
    no_input = {**first, "input": None}
    altered = {**first, "outcome": "auto" if first["outcome"] != "auto" else "block"}
    odd = [
        "not json",
        "[1, 2]",
        '{"record": "verification", "id": "v1"}',
        json.dumps(redacted),
        json.dumps(no_input),
        json.dumps(altered),
        '{"action": {"type": "refund", "type": "pay"}}',
        json.dumps({"action": {"type": "refund", "amount": 700, "currency": "EUR"}}),
    ]
    mixed = scratch / "mixed.jsonl"
    # Blank lines count in `lines`; the last line has no newline (a torn tail to replay).
    mixed.write_text("\n".join(records[:300] + odd + ["", "  "] + records[300:]))
    new = candidate_policy(scratch)

    ours = history.impact_diff(AGENT, new, mixed, range_bytes=50_000)
    theirs = cli_diff(gatehouse_bin, AGENT, new, mixed)
    assert_impact_equal(ours, theirs)
    assert ours.unreadable >= 3 and ours.no_input_recorded == 2 and ours.other_records == 1
    assert ours.changed > 0, "the candidate must change some decisions"

    for policy in (AGENT, new):
        ours_r = history.replay(policy, mixed, range_bytes=70_001)
        assert_replay_equal(ours_r, cli_replay(gatehouse_bin, policy, mixed))
    assert ours_r.counts["changed"] > 0 and ours_r.transitions


@pytest.mark.parametrize("range_bytes", [1, 2, 3, 7, 64, 1000])
def test_file_ranges_hold_every_line_once(tmp_path, range_bytes):
    path = tmp_path / "lines"
    text = b"a\n\nbc\n" + b"x" * 150 + b"\n\n\nlast without newline"
    path.write_bytes(text)
    parts = [history.read_range(**r) for r in history.file_ranges([path], range_bytes)]
    assert b"".join(parts) == text
    filled = [p for p in parts if p]
    for part in filled[:-1]:
        assert part.endswith(b"\n"), "a range ends at the end of a line"
    assert len(filled) > 1 or range_bytes >= len(text) // 2


def test_a_dataset_column_and_null_rows(local_ray, gatehouse_bin, scratch):
    actions = scratch / "actions.jsonl"
    write_actions(actions, 200, seed=2)
    lines = actions.read_text().splitlines()
    new = candidate_policy(scratch)
    ds = ray.data.from_arrow(pa.table({"line": pa.array(lines + [None], pa.large_string())}))
    ours = history.impact_diff(AGENT, new, ds, column="line", batch_size=64)
    # A null row is the line `null`: unreadable, as the CLI reads that line.
    with_null = scratch / "with-null.jsonl"
    with_null.write_text("\n".join(lines + ["null"]) + "\n")
    assert_impact_equal(ours, cli_diff(gatehouse_bin, AGENT, new, with_null))
    assert ours.unreadable == 1


def test_a_million_records_on_a_local_ray_cluster_equal_the_cli(local_ray, gatehouse_release_bin, scratch):
    """The acceptance test of issue 16: >= 1,000,000 decision records written by the CLI, Ray == CLI."""
    n = 1_000_000
    started = time.monotonic()
    actions = scratch / "actions.jsonl"
    write_actions(actions, n, seed=16)
    log = scratch / "audit.jsonl"
    audit_log(gatehouse_release_bin, actions, log)
    actions.unlink()
    with log.open("rb") as f:
        assert sum(1 for _ in f) == n
    new = candidate_policy(scratch)
    made = time.monotonic()

    theirs_diff = cli_diff(gatehouse_release_bin, AGENT, new, log)
    theirs_replay = cli_replay(gatehouse_release_bin, new, log)
    cli_done = time.monotonic()

    ours_diff = history.impact_diff(AGENT, new, log)
    ours_replay = history.replay(new, log)
    ray_done = time.monotonic()

    assert_impact_equal(ours_diff, theirs_diff)
    assert_replay_equal(ours_replay, theirs_replay)
    assert ours_diff.inputs == n and ours_replay.counts["decisions"] == n
    assert ours_diff.changed > 0 and ours_replay.transitions
    print(
        f"\n1M records: generate+CLI eval {made - started:.0f}s, CLI diff+replay {cli_done - made:.0f}s, "
        f"Ray diff+replay {ray_done - cli_done:.0f}s"
    )
