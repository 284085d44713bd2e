"""The client against malformed or hostile servers (httpx.MockTransport),
and its event-stream parser alone."""

from __future__ import annotations

import json
import threading
import traceback
from typing import Any
from collections.abc import Callable, Iterator

import anyio
import httpx
import pytest

from gatehouse import errors
from gatehouse._sse import SseParser
from gatehouse.client import AsyncGatehouseClient, GatehouseClient

KEY = "ghk_0123456789ab.s3cr3t-never-shown"
BASE = "http://gate.test"
ID = "req_" + "a" * 32


def request_doc(state: str = "pending", version: int = 1, **extra: Any) -> dict[str, Any]:
    """A request answer as the service writes one."""
    doc = {
        "format": "gatehouse.request/1",
        "id": ID,
        "state": state,
        "version": version,
        "outcome": "explicit",
        "tier": 3,
        "roles": ["support_lead"],
        "approvals_required": {"count": 1},
        "evidence_missing": [],
        "deadline": "2026-12-06T11:02:38Z",
        "action_digest": "sha256:" + "1" * 64,
        "policy_digest": "sha256:" + "2" * 64,
        "decision": {"outcome": "explicit"},
    }
    doc.update(extra)
    return doc


def problem(status: int, code: str, **extra: Any) -> httpx.Response:
    body = {"type": "https://gatehouse.dev/problems/x", "title": "T", "status": status, "detail": "d", "code": code}
    body.update(extra)
    return httpx.Response(status, headers={"content-type": "application/problem+json"}, content=json.dumps(body))


def client(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> GatehouseClient:
    return GatehouseClient(BASE, KEY, transport=httpx.MockTransport(handler), **kw)


def run_bounded(work: Callable[[], Any]) -> BaseException | Any:
    """Runs `work` in a thread and waits (generously) for it to end: a
    hang fails the test instead of holding the suite."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(work())
        except BaseException as e:
            box.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the call hung"
    return box[0]


# --- error answers ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (403, "SELF_APPROVAL", errors.SelfApproval),
        (409, "DIGEST_MISMATCH", errors.DigestMismatch),
        (429, "RATE_LIMITED", errors.RateLimited),
        (503, "SHUTTING_DOWN", errors.ShuttingDown),
        (500, "INTERNAL", errors.InternalError),
        (401, "TOKEN_EXPIRED", errors.TokenExpired),
        (418, "SOMETHING_NEW", errors.ClientError),
        (599, "SOMETHING_NEW", errors.ServerError),
        # A known code with a status of the other family: the family wins.
        (500, "NOT_FOUND", errors.ServerError),
    ],
)
def test_problem_codes_choose_the_class(status: int, code: str, cls: type) -> None:
    with client(lambda r: problem(status, code, errors=[{"path": "$.reason", "detail": "x"}], state="pending")) as c:
        with pytest.raises(errors.ProblemError) as raised:
            c.get_request(ID)
    assert type(raised.value) is cls
    assert raised.value.status == status and raised.value.code == code
    assert raised.value.paths == ["$.reason"] and raised.value.state == "pending"
    assert raised.value.title == "T" and raised.value.detail == "d" and raised.value.problem["code"] == code


def test_rate_limited_carries_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        answer = problem(429, "RATE_LIMITED")
        answer.headers["retry-after"] = "7"
        return answer

    with client(handler) as c, pytest.raises(errors.RateLimited) as raised:
        c.decide({"action": {}})
    assert raised.value.retry_after == 7.0 and isinstance(raised.value, errors.TooManyRequests)


def test_an_error_that_is_not_a_problem_is_still_typed() -> None:
    html = b"<html><body>502 Bad Gateway</body></html>"
    with client(lambda r: httpx.Response(502, headers={"content-type": "text/html"}, content=html)) as c:
        with pytest.raises(errors.ServerError) as raised:
            c.get_request(ID)
    assert type(raised.value) is errors.ServerError
    assert raised.value.status == 502 and raised.value.code is None and "Bad Gateway" in (raised.value.detail or "")
    with client(lambda r: httpx.Response(404, content=b"")) as c, pytest.raises(errors.ClientError) as empty:
        c.get_request(ID)
    assert empty.value.status == 404 and empty.value.code is None


def test_a_server_echoing_the_key_does_not_show_it() -> None:
    with client(lambda r: problem(401, "UNAUTHENTICATED", detail=f"bad key {KEY}")) as c:
        with pytest.raises(errors.Unauthenticated) as raised:
            c.get_request(ID)
    shown = "".join(traceback.format_exception(raised.value)) + repr(raised.value) + json.dumps(raised.value.problem)
    assert KEY not in shown and "***" in str(raised.value)


def test_redirects_are_not_followed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(307, headers={"location": "http://elsewhere.test/v1/requests"})

    with client(handler) as c, pytest.raises(errors.ProblemError) as raised:
        c.create_request({"action": {}})
    assert raised.value.status == 307
    assert [r.url.host for r in seen] == ["gate.test"]


# --- successful answers the client cannot read ------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({**request_doc(), "outcome": "maybe"}).encode(),
        json.dumps({**request_doc(), "version": "1"}).encode(),
        json.dumps({k: v for k, v in request_doc().items() if k != "state"}).encode(),
        json.dumps({**request_doc(), "roles": "support_lead"}).encode(),
        b"[" * 100_000,
    ],
)
def test_unreadable_answers_fail_closed(body: bytes) -> None:
    with client(lambda r: httpx.Response(200, content=body)) as c, pytest.raises(errors.ProtocolError):
        c.get_request(ID)


def test_oversized_answers_are_capped() -> None:
    big = b'{"pad": "' + b"x" * 100_000 + b'"}'
    read: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(1000):  # 64 MiB if read whole
            read.append(1)
            yield b"x" * 65536

    with client(lambda r: httpx.Response(200, content=big), max_response_bytes=4096) as c:
        with pytest.raises(errors.ResponseTooLarge):
            c.decide({"action": {}})
    with client(lambda r: httpx.Response(200, content=chunks()), max_response_bytes=1 << 20) as c:
        with pytest.raises(errors.ResponseTooLarge):
            c.decide({"action": {}})
    assert len(read) < 100  # reading stopped at the cap, not at the end


# --- request ids, bodies, configuration -----------------------------------------


@pytest.mark.parametrize(
    ("request_id", "raw_path"),
    [
        ("..%2F..%2Fv1%2Fadmin%2Fkeys", "/v1/requests/..%252F..%252Fv1%252Fadmin%252Fkeys"),
        ("../admin/keys", "/v1/requests/..%2Fadmin%2Fkeys"),
        ("a/b", "/v1/requests/a%2Fb"),
        ("x?state=approved", "/v1/requests/x%3Fstate%3Dapproved"),
        ("x#frag", "/v1/requests/x%23frag"),
    ],
)
def test_request_ids_stay_one_path_segment(request_id: str, raw_path: str) -> None:
    paths: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path)
        return httpx.Response(200, json=request_doc(id=request_id))  # about the id asked for

    with client(handler) as c:
        c.get_request(request_id)
        c.review(request_id, "approve", reason="x")
    assert paths == [raw_path.encode(), raw_path.encode() + b"/decisions"]


@pytest.mark.parametrize("request_id", ["", ".", ".."])
def test_dot_segments_are_refused(request_id: str) -> None:
    with client(lambda r: pytest.fail("nothing may be sent")) as c:
        for call in (c.get_request, c.events, c.cancel, lambda i: c.wait_for_decision(i, timeout=5)):
            with pytest.raises(ValueError):
                call(request_id)


def test_idempotency_keys_are_sent_and_fresh() -> None:
    keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("idempotency-key"))
        return httpx.Response(201, json=request_doc())

    with client(handler) as c:
        c.create_request({"action": {}})
        c.create_request({"action": {}})
        c.review(ID, "approve", reason="x")
        c.create_request({"action": {}}, idempotency_key="mine-1")
        c.claim(ID, {"action": {}})
    assert all(k for k in keys[:3]) and len(set(keys[:3])) == 3
    assert keys[3] == "mine-1" and keys[4] is None  # a claim is not retried


def test_bad_inputs_raise_before_sending() -> None:
    with client(lambda r: pytest.fail("nothing may be sent")) as c:
        with pytest.raises(errors.EncodeError):
            c.decide({"amount": float("nan")})
        with pytest.raises(errors.EncodeError):
            c.create_request({"tags": {1, 2}})
        with pytest.raises(TypeError):
            c.report_executed(ID, ["not", "a", "mapping"])  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            c.wait(ID, timeout=float("inf"))
    for bad_key in ("", "ghk_é.secret", "ghk_x\nX-Evil: 1", "a b", 42):
        with pytest.raises(ValueError) as refused:
            GatehouseClient(BASE, bad_key)  # type: ignore[arg-type]
        assert str(bad_key) not in str(refused.value) or bad_key == ""
    for url in ("ftp://gate.test", "gate.test", "http://user:pw@gate.test", "http://gate.test/?x=1"):
        with pytest.raises(ValueError):
            GatehouseClient(url, KEY)


def test_headers_and_authorization() -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json=request_doc())

    with GatehouseClient(BASE, KEY, transport=httpx.MockTransport(handler), headers={"X-Trace": "t1"}) as c:
        c.get_request(ID)
        assert KEY not in repr(c)
    with GatehouseClient(BASE, transport=httpx.MockTransport(handler), headers={"Authorization": "Bearer oidc"}) as c:
        c.get_request(ID)
    with GatehouseClient(BASE, KEY, transport=httpx.MockTransport(handler), headers={"authorization": "Bearer x"}) as c:
        c.get_request(ID)
    assert seen[0]["authorization"] == f"Bearer {KEY}" and seen[0]["x-trace"] == "t1"
    assert seen[2].get_list("authorization") == [f"Bearer {KEY}"]  # the key replaces, never doubles
    assert seen[1]["authorization"] == "Bearer oidc"


# --- the event stream and waiting against hostile servers ------------------------


def sse(chunks: Iterator[bytes] | list[bytes]) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=iter(chunks))


def event_of(doc: dict[str, Any]) -> bytes:
    return b"event: request\nid: %d\ndata: %s\n\n" % (doc["version"], json.dumps(doc).encode())


def test_events_parse_comments_retry_and_garbage() -> None:
    stream = [
        b": keep-alive\n",
        b"retry: 250\nnonsense line\nfield-without-colon\n",
        event_of(request_doc(version=1))[:30],
        event_of(request_doc(version=1))[30:],
        b"event: other\ndata: {}\n\n",  # another event type is skipped
        event_of(request_doc("approved", 2)).replace(b"\n", b"\r\n"),
    ]
    with client(lambda r: sse(stream)) as c:
        states = [(r.state, r.version) for r in c.events(ID)]
    assert states == [("pending", 1), ("approved", 2)]


def test_an_event_with_broken_json_fails_closed() -> None:
    with client(lambda r: sse([b"event: request\ndata: {broken\n\n"])) as c, pytest.raises(errors.ProtocolError):
        list(c.events(ID))


def test_an_event_that_never_ends_is_capped() -> None:
    def endless() -> Iterator[bytes]:
        yield b"event: request\n"
        while True:
            yield b"data: " + b"x" * 1000 + b"\n"

    with client(lambda r: sse(endless()), max_response_bytes=64 * 1024) as c:
        outcome = run_bounded(lambda: list(c.events(ID)))
    assert isinstance(outcome, errors.ResponseTooLarge)


def test_a_line_that_never_ends_is_capped() -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"x" * 4096

    with client(lambda r: sse(endless()), max_response_bytes=64 * 1024) as c:
        assert isinstance(run_bounded(lambda: list(c.events(ID))), errors.ResponseTooLarge)


def test_wait_for_decision_is_bounded_against_a_trickling_server() -> None:
    def trickle() -> Iterator[bytes]:
        yield event_of(request_doc())
        while True:
            threading.Event().wait(0.05)
            yield b":\n"

    with client(lambda r: sse(trickle())) as c:
        outcome = run_bounded(lambda: c.wait_for_decision(ID, timeout=1))
    assert isinstance(outcome, errors.WaitTimeout)
    assert outcome.last is not None and outcome.last.state == "pending"


def test_wait_for_decision_is_bounded_against_a_server_that_never_waits() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/events"):
            return problem(404, "NO_ROUTE")
        return httpx.Response(200, json={**request_doc(), "changed": False})

    with client(handler) as c:
        outcome = run_bounded(lambda: c.wait_for_decision(ID, timeout=1.5))
    assert isinstance(outcome, errors.WaitTimeout)
    assert any(p.endswith("/wait") for p in calls)
    assert len(calls) < 100  # it backs off instead of spinning


def test_streams_that_end_at_once_do_not_make_a_busy_loop() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return sse([b"retry: 0\n", event_of(request_doc())])

    with client(handler) as c:
        outcome = run_bounded(lambda: c.wait_for_decision(ID, timeout=1.5))
    assert isinstance(outcome, errors.WaitTimeout) and outcome.last is not None
    assert 2 <= len(calls) < 100  # it reconnected, with a back-off


def test_a_broken_stream_does_not_leak_into_the_next() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:

            def broken() -> Iterator[bytes]:
                yield b"event: request\ndata: {half"
                raise httpx.ReadError("connection reset")

            return sse(broken())
        return sse([event_of(request_doc("approved", 2))])

    with client(handler) as c:
        decided = run_bounded(lambda: c.wait_for_decision(ID, timeout=30))
    assert not isinstance(decided, BaseException) and decided.state == "approved"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A real HTTP server on loopback whose event stream is missing and
    whose long-poll never answers (it holds the connection open)."""
    import http.server

    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            if self.path.endswith("/events"):
                body = json.dumps({"type": "x", "title": "Not Found", "status": 404, "code": "NO_ROUTE"}).encode()
                self.send_response(404)
                self.send_header("content-type", "application/problem+json")
            elif "/wait" in self.path:
                stop.wait(120)  # never answers while the test runs
                return
            else:
                body = json.dumps(request_doc()).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    stop.set()
    server.shutdown()
    server.server_close()


def test_a_long_poll_that_never_answers_is_bounded_by_the_timeout(silent_server: str) -> None:
    # The client's own timeout is long (120 s): only a wait that bounds
    # its reads by the time left ends before the helper's 60 s.
    with GatehouseClient(silent_server, KEY, timeout=120) as c:
        outcome = run_bounded(lambda: c.wait_for_decision(ID, timeout=2))
    assert isinstance(outcome, errors.WaitTimeout)
    assert outcome.last is not None and outcome.last.state == "pending"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_long_poll_that_never_answers_is_bounded(silent_server: str, anyio_backend: str) -> None:
    async with AsyncGatehouseClient(silent_server, KEY, timeout=120) as c:
        with anyio.fail_after(60), pytest.raises(errors.WaitTimeout) as timed_out:
            await c.wait_for_decision(ID, timeout=2)
    assert timed_out.value.last is not None and timed_out.value.last.state == "pending"


def test_wait_for_decision_raises_refusals_at_once() -> None:
    with client(lambda r: problem(404, "NOT_FOUND")) as c:
        assert isinstance(run_bounded(lambda: c.wait_for_decision(ID, timeout=30)), errors.NotFound)
    with client(lambda r: problem(401, "UNAUTHENTICATED")) as c:
        assert isinstance(run_bounded(lambda: c.wait_for_decision(ID, timeout=30)), errors.Unauthenticated)


def test_wait_for_decision_retries_broken_connections() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) <= 2:
            raise httpx.ConnectError("refused")
        if len(calls) == 3:
            return problem(503, "SHUTTING_DOWN")
        return sse([event_of(request_doc("approved", 2))])

    with client(handler) as c:
        decided = run_bounded(lambda: c.wait_for_decision(ID, timeout=30))
    assert not isinstance(decided, BaseException) and decided.state == "approved"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_wait_is_bounded_and_capped(anyio_backend: str) -> None:
    async def trickle() -> Any:
        yield event_of(request_doc())
        while True:
            await anyio.sleep(0.05)
            yield b":\n"

    async def endless() -> Any:
        yield b"event: request\n"
        while True:
            yield b"data: " + b"x" * 1000 + b"\n"

    def handler(request: httpx.Request) -> httpx.Response:
        body = trickle() if request.url.path.endswith("/events") else endless()
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    async with AsyncGatehouseClient(
        BASE, KEY, transport=httpx.MockTransport(handler), max_response_bytes=64 * 1024
    ) as c:
        with anyio.fail_after(60):
            with pytest.raises(errors.WaitTimeout) as timed_out:
                await c.wait_for_decision(ID, timeout=1)
        assert timed_out.value.last is not None and timed_out.value.last.state == "pending"
        with pytest.raises(errors.ProtocolError):
            await c.get_request(ID)  # an endless body is capped too
        with pytest.raises(ValueError):
            await c.get_request("..")


# --- the parser alone -----------------------------------------------------------


def test_parser_line_endings_split_across_chunks() -> None:
    parser = SseParser(1024)
    events = []
    for chunk in [b"\xef\xbb\xbfdata: a\r", b"\ndata: b\r", b"\r", b"data:c\n", b"\n"]:
        events += parser.feed(chunk)
    assert [(e.event, e.data) for e in events] == [("message", "a\nb"), ("message", "c")]


def test_parser_keeps_retry_and_ids() -> None:
    parser = SseParser(1024)
    events = parser.feed(b"retry: 1500\nid: 7\ndata: x\n\nretry: nope\nretry: 999999999\n")
    assert events[0].id == "7" and parser.last_id == "7"
    assert parser.retry == 30.0  # capped; a non-number was ignored


def test_parser_caps_comment_floods() -> None:
    parser = SseParser(1024)
    with pytest.raises(errors.ResponseTooLarge):
        for _ in range(1000):
            parser.feed(b": keep-alive\n")
