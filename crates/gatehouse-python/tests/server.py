"""A real ``gatehouse serve`` process for the Python tests.

``start_server`` runs the binary of GATEHOUSE_BIN on 127.0.0.1 with a free
port (``--listen 127.0.0.1:0``; the port is read from its first line) in a
fresh data directory, reads the development admin token it prints at its
first start, and makes API keys with it:

- ``agent``: identity ``agent-refunds``, scopes decide + request + execute (the
  agent of examples/actions/refund-small.json);
- ``alice`` and ``bob``: reviewers (scope approve) holding every role the
  shipped policies name, so dual approvals can complete;
- ``executor``: identity ``executor``, scope execute.

Fixtures (conftest.py imports them): ``gatehouse_server`` (one server for
the session, shipped policy, default limits) and ``gatehouse_server_factory``
(a new server per call with extra ``[limits]`` or configuration, stopped at
the end of the test). Keys are made with plain httpx, not with the client
under test.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import queue
import subprocess
import threading
from typing import Any
from collections.abc import Callable, Iterator

import httpx
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
POLICY = ROOT / "policies" / "ai-agent-actions"
EXAMPLES = ROOT / "examples" / "actions"

# Every role the shipped policy set names: the reviewers hold them all.
REVIEWER_ROLES = [
    "account_manager",
    "authorized_operator",
    "change_manager",
    "communications_lead",
    "data_owner",
    "data_protection_officer",
    "finance_approver",
    "finance_director",
    "legal_reviewer",
    "operations_manager",
    "process_owner",
    "risk_owner",
    "security_approver",
    "support_lead",
]
_LISTENING = "gatehouse serve: listening on "
_TOKEN = "development admin token (shown once, keep it): "
_START_TIMEOUT = 60.0


def example(name: str) -> dict[str, Any]:
    """An example action of the repository (examples/actions/NAME)."""
    doc: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return doc


@dataclasses.dataclass
class GatehouseServer:
    """A running ``gatehouse serve``: its URL, admin token and test keys."""

    base_url: str
    admin: str
    data_dir: pathlib.Path
    process: subprocess.Popen[str]
    stderr: list[str]
    keys: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def agent(self) -> str:
        """The agent's key (decide + request + execute)."""
        return self.keys["agent"]

    @property
    def alice(self) -> str:
        """A reviewer's key."""
        return self.keys["alice"]

    @property
    def bob(self) -> str:
        """Another reviewer's key."""
        return self.keys["bob"]

    @property
    def executor(self) -> str:
        """An executor's key (execute only)."""
        return self.keys["executor"]

    def key(self, identity: str, scopes: list[str], roles: list[str] | None = None) -> str:
        """A new API key made with the admin token."""
        answer = httpx.post(
            f"{self.base_url}/v1/admin/keys",
            headers={"Authorization": f"Bearer {self.admin}"},
            json={"identity": identity, "scopes": scopes, "roles": roles or []},
            timeout=30,
        )
        assert answer.status_code == 201, answer.text
        key: str = answer.json()["key"]
        return key

    def revoke(self, key: str) -> None:
        """Revokes an API key (its id is the part before the dot)."""
        key_id = key.split(".", 1)[0]
        answer = httpx.delete(
            f"{self.base_url}/v1/admin/keys/{key_id}",
            headers={"Authorization": f"Bearer {self.admin}"},
            timeout=30,
        )
        assert answer.status_code in (200, 204), answer.text

    def stop(self) -> None:
        """Kills the process and waits for it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


def start_server(
    gatehouse_bin: pathlib.Path,
    directory: pathlib.Path,
    *,
    config: str | None = None,
    policy: pathlib.Path = POLICY,
) -> GatehouseServer:
    """Starts ``gatehouse serve`` in ``directory`` (its data dir and
    config file go there) and makes the test keys."""
    directory.mkdir(parents=True, exist_ok=True)
    data_dir = directory / "data"
    args = [
        str(gatehouse_bin),
        "serve",
        "--policy",
        str(policy),
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        str(data_dir),
    ]
    if config is not None:
        path = directory / "serve.toml"
        path.write_text(config)
        args += ["--config", str(path)]
    env = {k: v for k, v in os.environ.items() if k not in ("GATEHOUSE_CONFIG", "GATEHOUSE_TRUST")}
    env["GATEHOUSE_LOG"] = "warn"
    process = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    stderr: list[str] = []

    def pump_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    def pump_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if len(stderr) < 10_000:
                stderr.append(line)

    threading.Thread(target=pump_stdout, daemon=True).start()
    threading.Thread(target=pump_stderr, daemon=True).start()
    base_url = admin = None
    try:
        while admin is None:
            try:
                line = lines.get(timeout=_START_TIMEOUT)
            except queue.Empty:
                line = None
            if line is None:
                raise RuntimeError("gatehouse serve did not start:\n" + "".join(stderr[-50:]))
            if line.startswith(_LISTENING):
                base_url = line[len(_LISTENING) :].strip()
            elif line.startswith(_TOKEN):
                admin = line[len(_TOKEN) :].strip()
        assert base_url is not None, "no `listening on` line before the token"
    except BaseException:
        process.kill()
        process.wait(timeout=30)
        raise
    server = GatehouseServer(base_url=base_url, admin=admin, data_dir=data_dir, process=process, stderr=stderr)
    server.keys["agent"] = server.key("agent-refunds", ["decide", "request", "execute"])
    server.keys["alice"] = server.key("alice", ["approve"], REVIEWER_ROLES)
    server.keys["bob"] = server.key("bob", ["approve"], REVIEWER_ROLES)
    server.keys["executor"] = server.key("executor", ["execute"])
    return server


@pytest.fixture(scope="session")
def gatehouse_server(
    gatehouse_bin: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatehouseServer]:
    """One ``gatehouse serve`` for the test session (shipped policy, default limits)."""
    server = start_server(gatehouse_bin, tmp_path_factory.mktemp("gatehouse-serve"))
    yield server
    server.stop()


@pytest.fixture
def gatehouse_server_factory(
    gatehouse_bin: pathlib.Path, tmp_path: pathlib.Path
) -> Iterator[Callable[..., GatehouseServer]]:
    """``factory(config=None, policy=POLICY)``: a new server for this test,
    with its own configuration (``"[limits]\\nmax_wait_seconds = 1\\n"``)."""
    started: list[GatehouseServer] = []

    def factory(*, config: str | None = None, policy: pathlib.Path = POLICY) -> GatehouseServer:
        server = start_server(gatehouse_bin, tmp_path / f"serve-{len(started)}", config=config, policy=policy)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
