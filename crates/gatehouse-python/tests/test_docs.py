"""Every Python example in the docs runs, and prints what the page says it prints.

A ```python block runs (in the repository root, with the installed wheel);
when a ```text block follows it directly, the block's output must equal it.
A block whose info string is `python no-run` (it needs a running server or
an agent framework's network) is compiled, not run; its page's own tests
cover it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re

import pytest

from conftest import ROOT

PAGES = [ROOT / "README.md", ROOT / "docs" / "python.md", ROOT / "docs" / "python-arrow.md"]
# The other Python pages need a running server or an agent framework; each
# is run block by block by its own test module, which this file checks
# exists and names the page.
OWNED = {"python-client.md": "test_client.py", "python-agents.md": "test_gating_examples.py"}
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```\s*$", re.S | re.M)


def blocks(text: str) -> list[tuple[str, str, str | None, int]]:
    """(info, code, expected output or None, line) of every python block."""
    found = list(FENCE.finditer(text))
    out = []
    for i, m in enumerate(found):
        info = m.group(1).strip()
        if not info.startswith("python"):
            continue
        expected = None
        if i + 1 < len(found):
            nxt = found[i + 1]
            between = text[m.end() : nxt.start()]
            if nxt.group(1).strip() == "text" and between.strip() == "":
                expected = nxt.group(2)
        out.append((info, m.group(2), expected, text[: m.start()].count("\n") + 1))
    return out


CASES = [(page, *b) for page in PAGES for b in blocks(page.read_text())]


def test_every_python_page_is_run_by_a_test():
    here = ROOT / "crates" / "gatehouse-python" / "tests"
    for page in sorted((ROOT / "docs").glob("python*.md")):
        if page in PAGES:
            continue
        assert page.name in OWNED, f"{page.name}: no test runs its python blocks"
        assert page.name in (here / OWNED[page.name]).read_text()


def test_the_python_pages_have_examples():
    assert any(page.name == "python.md" for page, *_ in CASES)
    assert any(page.name == "README.md" for page, *_ in CASES)


@pytest.mark.parametrize(
    "page, info, code, expected, line", CASES, ids=[f"{c[0].name}:{c[4]}" for c in CASES]
)
def test_every_python_block_runs_and_prints_what_the_page_shows(page, info, code, expected, line):
    compiled = compile(code, f"{page.name}:{line}", "exec")
    if info != "python":
        assert info == "python no-run", f"unknown fence {info!r} at {page.name}:{line}"
        return
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            exec(compiled, {"__name__": "__docs__"})
    finally:
        os.chdir(cwd)
    if expected is not None:
        assert out.getvalue() == expected
