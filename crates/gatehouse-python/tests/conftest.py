"""Shared fixtures: the repository's paths and the gatehouse binary."""

from __future__ import annotations

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
POLICIES = ROOT / "policies"
EXAMPLES = ROOT / "examples" / "actions"


@pytest.fixture(scope="session")
def gatehouse_bin() -> pathlib.Path:
    """The CLI binary scripts/python-test.sh built (GATEHOUSE_BIN)."""
    path = pathlib.Path(os.environ.get("GATEHOUSE_BIN", ROOT / "target" / "debug" / "gatehouse"))
    assert path.is_file(), f"no gatehouse binary at {path}: run scripts/python-test.sh"
    return path


@pytest.fixture(scope="session")
def agent_policy():
    import gatehouse

    return gatehouse.Policy.load(POLICIES / "ai-agent-actions")



@pytest.fixture(scope="session")
def gatehouse_release_bin() -> pathlib.Path:
    """The release CLI binary (GATEHOUSE_RELEASE_BIN): the million-record history test needs its speed."""
    path = pathlib.Path(os.environ.get("GATEHOUSE_RELEASE_BIN", ROOT / "target" / "release" / "gatehouse"))
    assert path.is_file(), f"no release gatehouse binary at {path}: run scripts/python-test.sh"
    return path


from server import gatehouse_server, gatehouse_server_factory  # noqa: E402,F401  (the real `gatehouse serve` fixtures)
