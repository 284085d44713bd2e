"""The runnable examples of examples/python, run as a user runs them (the
python blocks of docs/python-agents.md run in test_docs.py)."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

from conftest import ROOT

EXAMPLES = ROOT / "examples" / "python"


def run_example(name: str, gatehouse_bin: pathlib.Path) -> list[str]:
    env = {**os.environ, "GATEHOUSE_BIN": str(gatehouse_bin)}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_gated_tools_example(gatehouse_bin: pathlib.Path) -> None:
    lines = run_example("gated_tools.py", gatehouse_bin)
    assert re.fullmatch(r"needs explicit approval of sha256:[0-9a-f]{64} \(.*\)", lines[0]), lines
    assert lines[1].startswith("another amount:") and "DIGEST_MISMATCH" in lines[1]
    assert lines[2] == "refunded 250 EUR"
    assert lines[3].startswith("the same approval again:") and "APPROVAL_REPLAYED" in lines[3]
    assert lines[4].startswith("blocked:") and "APPROVER_LIMIT_EXCEEDED" in lines[4]


def test_openai_agents_example(gatehouse_bin: pathlib.Path) -> None:
    lines = run_example("openai_agents_gated.py", gatehouse_bin)
    assert lines[0].startswith("paused: refund(") and lines[0].endswith("needs approval"), lines
    assert lines[1] == "tool said: refunded 250 EUR"
    assert lines[2].startswith("tool said: gatehouse blocked refund") and "APPROVER_LIMIT_EXCEEDED" in lines[2]


def test_langgraph_example(gatehouse_bin: pathlib.Path) -> None:
    lines = run_example("langgraph_gated.py", gatehouse_bin)
    assert re.fullmatch(r"paused: refund needs explicit approval of sha256:[0-9a-f]{64}", lines[0]), lines
    assert lines[1:] == ["refunded 250.0 EUR", "The refund is done."]  # the schema makes it a float


def test_the_docs_python_blocks_run() -> None:
    """Every ```python block of docs/python-agents.md runs on its own, from the
    repository root, and prints the ```text block that follows it; the
    `python no-run` blocks (a server, a framework run) compile, and the
    examples above and the service and framework tests cover them."""
    import contextlib
    import io

    from test_docs import blocks

    page = ROOT / "docs" / "python-agents.md"
    found = blocks(page.read_text())
    assert sum(1 for info, *_ in found if info == "python") >= 4
    cwd = os.getcwd()
    for info, code, expected, line in found:
        compiled = compile(code, f"python-agents.md:{line}", "exec")
        if info == "python no-run":
            continue
        assert info == "python", f"unknown fence {info!r} at python-agents.md:{line}"
        out = io.StringIO()
        os.chdir(ROOT)
        try:
            with contextlib.redirect_stdout(out):
                exec(compiled, {"__name__": "docs_python_agents"})
        finally:
            os.chdir(cwd)
        assert expected is not None, f"python-agents.md:{line}: show what the block prints"
        assert out.getvalue() == expected, f"python-agents.md:{line}"
