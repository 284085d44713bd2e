"""Regression tests of the attacker's client findings (issue 16):

- a bounded wait (``wait_for_decision``, ``events(timeout=)``,
  ``wait(timeout=)``) ends by its deadline even against a real server that
  trickles a body one byte at a time (every byte used to start a new httpx
  read timeout: /work/attack-py/findings/02-wait-trickle-hang.py);
- an answer about another request than the one asked for is a
  ProtocolError, for every call that answers a Request
  (findings/03-wait-returns-other-request.py).

The hostile servers trickle for as long as the test runs, so a client that
ignores its deadline hangs, and `run_bounded` fails the test instead.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from typing import Any
from collections.abc import Callable, Iterator

import anyio
import httpx
import pytest
from test_client_errors import ID, KEY, request_doc, run_bounded

from gatehouse import _http, errors
from gatehouse.client import AsyncGatehouseClient, GatehouseClient

# What the server does on each route: "trickle-503" (a problem body, one
# byte every 0.2 s, never ending), "trickle-200" (the same with status
# 200), "trickle-head" (the headers trickle), "silent" (headers, then no
# body), "404", "ok" (a pending request).
Routes = dict[str, str]


@pytest.fixture
def hostile() -> Iterator[Callable[[Routes], str]]:
    """Starts loopback HTTP servers whose routes (`events`, `wait`, `get`)
    behave as asked; gives each one's base URL."""
    stop = threading.Event()
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(routes: Routes) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                path = self.path.split("?")[0]
                route = "events" if path.endswith("/events") else "wait" if path.endswith("/wait") else "get"
                how = routes.get(route, "404")
                try:
                    if how == "trickle-head":
                        # A status line, then one header byte every 0.2 s:
                        # each byte starts a new httpx read timeout.
                        self.wfile.write(b"HTTP/1.1 200 OK\r\nx-slow: ")
                        while not stop.wait(0.2):
                            self.wfile.write(b"a")
                            self.wfile.flush()
                    elif how.startswith("trickle-"):
                        self.send_response(int(how.removeprefix("trickle-")))
                        self.send_header("content-type", "application/json")
                        self.send_header("transfer-encoding", "chunked")
                        self.end_headers()
                        while not stop.wait(0.2):
                            self.wfile.write(b"1\r\n \r\n")
                            self.wfile.flush()
                    elif how == "silent":
                        self.send_response(200)
                        self.send_header("content-type", "application/json")
                        self.send_header("content-length", "1000")
                        self.end_headers()
                        self.wfile.flush()
                        stop.wait(120)
                    else:
                        status, doc = (200, request_doc()) if how == "ok" else (404, {"code": "NO_ROUTE"})
                        body = json.dumps(doc).encode()
                        self.send_response(status)
                        self.send_header("content-type", "application/json")
                        self.send_header("content-length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                except OSError:
                    pass  # the client hung up, as it should at its deadline

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    stop.set()
    for server in servers:
        server.shutdown()
        server.server_close()


# --- finding 2: every read of a bounded wait checks the deadline ----------------


@pytest.mark.parametrize(
    "routes",
    [
        {"events": "trickle-503"},  # the finding itself: the error body of /events
        {"events": "404", "get": "trickle-200"},  # the fallback's first read
        {"events": "404", "get": "ok", "wait": "trickle-200"},  # the fallback's long-poll
        {"events": "404", "get": "silent"},  # headers, then nothing
        {"events": "trickle-head", "get": "trickle-head"},  # the headers never end
    ],
    ids=["events-error-body", "get-body", "long-poll-body", "silent-body", "trickled-headers"],
)
def test_wait_for_decision_ends_by_its_deadline(hostile: Callable[[Routes], str], routes: Routes) -> None:
    # The client's own timeout is long: only the wait's deadline can end it.
    # 3 s: long enough for the fallback to send a whole-second long-poll.
    with GatehouseClient(hostile(routes), KEY, timeout=120) as c:
        outcome = run_bounded(lambda: c.wait_for_decision(ID, timeout=3))
    assert isinstance(outcome, errors.WaitTimeout), outcome
    if routes.get("get") == "ok":
        assert outcome.last is not None and outcome.last.id == ID and outcome.last.state == "pending"
    else:
        assert outcome.last is None


@pytest.mark.parametrize("how", ["trickle-503", "trickle-head"])
def test_events_with_a_timeout_end_quietly_against_a_trickling_server(
    hostile: Callable[[Routes], str], how: str
) -> None:
    with GatehouseClient(hostile({"events": how}), KEY, timeout=120) as c:
        assert run_bounded(lambda: list(c.events(ID, timeout=1))) == []


def test_wait_is_bounded_by_its_timeout_plus_the_clients(hostile: Callable[[Routes], str]) -> None:
    # A long-poll whose answer trickles: bounded by timeout + the client's timeout.
    with GatehouseClient(hostile({"wait": "trickle-200"}), KEY, timeout=1) as c:
        outcome = run_bounded(lambda: c.wait(ID, timeout=1))
    assert isinstance(outcome, errors.WaitTimeout)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("how", ["trickle-503", "trickle-head"])
async def test_async_events_and_wait_are_bounded(
    hostile: Callable[[Routes], str], anyio_backend: str, how: str
) -> None:
    base = hostile({"events": how, "wait": how.replace("503", "200"), "get": "silent"})
    async with AsyncGatehouseClient(base, KEY, timeout=120) as c:
        with anyio.fail_after(60):
            assert [seen async for seen in c.events(ID, timeout=1)] == []
            with pytest.raises(errors.WaitTimeout):
                await c.wait_for_decision(ID, timeout=1)
    # `wait`'s bound is its timeout plus the client's.
    async with AsyncGatehouseClient(base, KEY, timeout=1) as c:
        with anyio.fail_after(60), pytest.raises(errors.WaitTimeout):
            await c.wait(ID, timeout=1)


def test_the_watchdog_ends_a_read_blocked_at_the_deadline() -> None:
    # A socket on which nothing ever arrives: without the watchdog the
    # recv below blocks for good.
    near, far = socket.socketpair()
    stream = type("Stream", (), {"get_extra_info": lambda self, name: near if name == "socket" else None})()
    response = httpx.Response(200, extensions={"network_stream": stream})
    try:
        with _http.Watchdog(response, time.monotonic() + 0.2):
            assert run_bounded(lambda: near.recv(10)) == b""
    finally:
        near.close()
        far.close()


def test_the_watchdog_is_stopped_when_the_exchange_ends() -> None:
    near, far = socket.socketpair()
    stream = type("Stream", (), {"get_extra_info": lambda self, name: near if name == "socket" else None})()
    response = httpx.Response(200, extensions={"network_stream": stream})
    try:
        with _http.Watchdog(response, time.monotonic() + 0.2):
            pass
        time.sleep(0.5)  # past the deadline the timer would have had
        far.sendall(b"x")
        assert near.recv(10) == b"x"
    finally:
        near.close()
        far.close()


# --- finding 4: an answer about another request is refused -----------------------

OTHER = "req_" + "b" * 32


def other_request(request: httpx.Request) -> httpx.Response:
    """Every route answers with a request of another id (approved)."""
    doc = request_doc("approved", 7, id=OTHER)
    if request.url.path.endswith("/events"):
        body = f"event: request\ndata: {json.dumps(doc)}\n\n".encode()
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    return httpx.Response(200, json=doc)


SYNC_CALLS: dict[str, Callable[[GatehouseClient], Any]] = {
    "get_request": lambda c: c.get_request(ID),
    "wait": lambda c: c.wait(ID, timeout=1),
    "events": lambda c: list(c.events(ID)),
    "events-timeout": lambda c: list(c.events(ID, timeout=5)),
    "wait_for_decision": lambda c: c.wait_for_decision(ID, timeout=5),
    "review": lambda c: c.review(ID, "approve"),
    "claim": lambda c: c.claim(ID, {"action": {}}),
    "report_executed": lambda c: c.report_executed(ID, {"result": "succeeded"}),
    "report_verified": lambda c: c.report_verified(ID, {"ok": True}),
    "cancel": lambda c: c.cancel(ID),
}


@pytest.mark.parametrize("call", sorted(SYNC_CALLS))
def test_an_answer_about_another_request_is_refused(call: str) -> None:
    with GatehouseClient("http://gate.test", KEY, transport=httpx.MockTransport(other_request)) as c:
        outcome = run_bounded(lambda: SYNC_CALLS[call](c))
    assert isinstance(outcome, errors.ProtocolError), outcome
    assert OTHER in str(outcome) and ID in str(outcome)


def test_an_answer_about_the_request_asked_for_is_taken() -> None:
    # The check compares ids; it refuses nothing else.
    def same(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=request_doc("approved", 7))

    with GatehouseClient("http://gate.test", KEY, transport=httpx.MockTransport(same)) as c:
        assert c.get_request(ID).id == ID and c.cancel(ID).state == "approved"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_answers_about_another_request_are_refused(anyio_backend: str) -> None:
    calls: dict[str, Callable[[AsyncGatehouseClient], Any]] = {
        "get_request": lambda c: c.get_request(ID),
        "wait": lambda c: c.wait(ID, timeout=1),
        "wait_for_decision": lambda c: c.wait_for_decision(ID, timeout=5),
        "review": lambda c: c.review(ID, "reject"),
        "claim": lambda c: c.claim(ID, {"action": {}}),
        "report_executed": lambda c: c.report_executed(ID, {"result": "succeeded"}),
        "report_verified": lambda c: c.report_verified(ID, {"ok": True}),
        "cancel": lambda c: c.cancel(ID),
    }
    async with AsyncGatehouseClient("http://gate.test", KEY, transport=httpx.MockTransport(other_request)) as c:
        with anyio.fail_after(60):
            for call in calls.values():
                with pytest.raises(errors.ProtocolError, match=OTHER):
                    await call(c)
            with pytest.raises(errors.ProtocolError, match=OTHER):
                async for _ in c.events(ID):
                    pass
