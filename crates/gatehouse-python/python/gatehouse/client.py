"""A client for ``gatehouse serve``, sync (:class:`GatehouseClient`) and
async (:class:`AsyncGatehouseClient`), on httpx (``pip install
'gatehouse-py[client]'``).

::

    from gatehouse.client import GatehouseClient

    with GatehouseClient("http://127.0.0.1:8080", api_key=AGENT_KEY) as gate:
        request = gate.create_request(action)
        request = gate.wait_for_decision(request.id, timeout=600)
        if request.is_approved:
            gate.claim(request.id, action)
            ...  # run the action
            gate.report_executed(request.id, {"result": "succeeded"})

Guarantees (each has a test): every refusal raises the
:mod:`gatehouse.errors` class of its problem code; answers and server-sent
events are read up to ``max_response_bytes`` and no further; redirects are
never followed (the key goes to the configured host only); a request id is
escaped as one path segment; the API key is in no repr, str or error;
waiting is bounded by the caller's timeout. No call is retried by the
client itself, except that ``wait_for_decision`` reconnects its wait (a read
changes nothing). ``create_request`` and ``review`` always send an
``Idempotency-Key`` (a random one unless given): a caller that retries one
of them with the same key gets the first answer, and no second request or
approval.
"""

from __future__ import annotations

import time
from contextlib import aclosing
from typing import Any, Literal
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping, Sequence

import anyio
import httpx

from . import _http
from ._models import Request
from ._sse import SseParser
from .errors import (
    GatehouseConnectionError,
    MethodNotAllowed,
    NoRoute,
    ProtocolError,
    ServerError,
    TooManyRequests,
    WaitTimeout,
)

__all__ = ["GatehouseClient", "AsyncGatehouseClient", "Request", "Review"]

Review = Literal["approve", "reject", "request_changes"]
"""A reviewer's decision."""

_JSON = "application/json"
_SSE = "text/event-stream"
# An SSE read waits at least this long: the service sends a keep-alive
# comment every 15 s, so a quiet stream is not taken for a dead one.
_SSE_MIN_READ = 20.0
# Reconnection back-off of `wait_for_decision` (seconds), doubling.
_BACKOFF_FIRST, _BACKOFF_MAX = 0.1, 2.0


class _Base:
    """Configuration and the pure parts both clients share."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        timeout: float,
        headers: Mapping[str, str] | None,
        max_response_bytes: int,
    ) -> None:
        _http.check_timeout(timeout)
        # Checked here so a bad key fails before any header is built (and
        # the message never repeats it).
        if api_key is not None and (
            not isinstance(api_key, str)
            or not api_key.isascii()
            or not api_key.isprintable()
            or " " in api_key
            or not api_key
        ):
            raise ValueError("api_key is a non-empty str of visible ASCII characters")
        if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int) or max_response_bytes < 1024:
            raise ValueError("max_response_bytes is an int of at least 1024")
        self.base_url: str = _http.check_base_url(base_url)
        """The service's URL."""
        self.timeout: float = float(timeout)
        """Seconds any one exchange may take (waits add their own time)."""
        self.max_response_bytes: int = max_response_bytes
        """The largest answer (or server-sent event) read."""
        self.__key = api_key
        self._headers: dict[str, str] = dict(headers or {})

    @property
    def _key(self) -> str | None:
        return self.__key

    def __repr__(self) -> str:
        key = "<set>" if self.__key else None
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key={key})"

    def _headers_for(self, accept: str = _JSON, idem: str | None = None, body: bool = False) -> httpx.Headers:
        return _http.headers_for(self._headers, self.__key, accept=accept, idem=idem, body=body)

    def _timeout(self, seconds: float | None = None, deadline: float | None = None) -> httpx.Timeout:
        """The httpx timeouts of one exchange. Under a deadline every step
        (pool, connect, write, each read) gets at most the time left, so
        no single step can carry a bounded wait past its end."""
        read = self.timeout if seconds is None else seconds
        if deadline is None:
            return httpx.Timeout(self.timeout, read=read)
        left = max(deadline - time.monotonic(), 0.001)
        return httpx.Timeout(min(self.timeout, left), read=min(read, left))

    @staticmethod
    def _wait_params(state: str | None, since_version: int | None, timeout: float | None) -> list[tuple[str, str]]:
        _http.check_timeout(timeout)
        params: list[tuple[str, str]] = []
        if state is not None:
            params.append(("state", str(state)))
        if since_version is not None:
            if isinstance(since_version, bool) or not isinstance(since_version, int):
                raise TypeError("since_version is an int")
            params.append(("since_version", str(since_version)))
        if timeout is not None:
            # The service takes whole seconds; rounding up keeps a short
            # wait from becoming "wait the server's maximum".
            params.append(("timeout", str(max(0, int(-(-timeout // 1))))))
        return params

    def _wait_read_timeout(self, timeout: float | None) -> float:
        # The server answers a long-poll by its cap (60 s by default) at
        # the latest; the read waits that long plus the usual timeout.
        return (60.0 if timeout is None else float(timeout)) + self.timeout

    @staticmethod
    def _request(doc: Any, request_id: str | None = None) -> Request:
        """A request answer; with ``request_id``, it must be about that
        request: an answer naming another id (a confused proxy cache, a
        hostile server) is a :class:`ProtocolError`, never taken as the
        state of the request asked about."""
        request = Request.from_json(doc)
        if request_id is not None and request.id != request_id:
            raise ProtocolError(f"asked about request {request_id[:80]!r}, the answer is about {request.id[:80]!r}")
        return request

    @staticmethod
    def _page(doc: Any) -> tuple[list[Request], str | None]:
        if not isinstance(doc, dict) or not isinstance(doc.get("requests"), list):
            raise ProtocolError("a request list answer has no `requests` array")
        following = doc.get("next_before")
        if following is not None and not isinstance(following, str):
            raise ProtocolError("`next_before` is not a string")
        return [Request.from_json(r) for r in doc["requests"]], following

    @staticmethod
    def _decision(doc: Any) -> dict[str, Any]:
        if not isinstance(doc, dict):
            raise ProtocolError("a decision answer must be a JSON object")
        return doc

    def _sse_read_timeout(self, deadline: float | None) -> float:
        read = max(self.timeout, _SSE_MIN_READ)
        if deadline is not None:
            read = min(read, max(deadline - time.monotonic(), 0.001))
        return read


def _review_body(decision: str, reason: str | None, action_digest: str | None) -> bytes:
    body: dict[str, Any] = {"decision": decision}
    if reason is not None:
        body["reason"] = reason
    if action_digest is not None:
        body["action_digest"] = action_digest
    return _http.encode(body)


def _newer(last: Request | None, seen: Request) -> Request:
    """The later of two views (a reconnection may show an older one first)."""
    return seen if last is None or seen.version >= last.version else last


def _next_backoff(backoff: float) -> float:
    return min(max(backoff * 2, _BACKOFF_FIRST), _BACKOFF_MAX)


class GatehouseClient(_Base):
    """A synchronous client for ``gatehouse serve``.

    ``api_key`` is sent as ``Authorization: Bearer``; ``timeout`` bounds
    every exchange (connect, each read, write); ``transport`` replaces
    httpx's (for tests, proxies, mTLS); ``headers`` are added to every call.
    Thread-safe as httpx's client is; close it (or use ``with``).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        max_response_bytes: int = _http.DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__(base_url, api_key, timeout, headers, max_response_bytes)
        self._http = httpx.Client(
            base_url=self.base_url, transport=transport, follow_redirects=False, timeout=self._timeout()
        )

    def close(self) -> None:
        """Closes the connections."""
        self._http.close()

    def __enter__(self) -> GatehouseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: list[tuple[str, str]] | None = None,
        idem: str | None = None,
        read_timeout: float | None = None,
        deadline: float | None = None,
        accept: str = _JSON,
    ) -> tuple[httpx.Response, bytes]:
        """One exchange and its whole body (capped).
        Under ``deadline`` (a monotonic time) it ends by then, raising
        :class:`WaitTimeout`."""
        headers = self._headers_for(accept=accept, idem=idem, body=body is not None)
        if _http.past(deadline):
            raise _http.timed_out()
        timeout = self._timeout(read_timeout, deadline)
        try:
            with _http.BoundedStream(
                lambda: self._http.stream(
                    method, path, content=body, params=tuple(params or ()), headers=headers, timeout=timeout
                ),
                deadline,
            ) as exchange:
                data = self._read_body(exchange)
        except _http.TRANSPORT_ERRORS as e:
            raise _http.failed(e, deadline, self._key) from None
        return exchange.response, data

    def _read_body(self, exchange: _http.BoundedStream) -> bytes:
        """A whole answer, capped, read under the exchange's deadline."""
        _http.check_length(exchange.response, self.max_response_bytes)
        data = _http.Capped(self.max_response_bytes)
        for chunk in exchange.chunks():
            data.add(chunk)
        return data.body()

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: list[tuple[str, str]] | None = None,
        idem: str | None = None,
        read_timeout: float | None = None,
        deadline: float | None = None,
    ) -> Any:
        response, data = self._exchange(
            method, path, body=body, params=params, idem=idem, read_timeout=read_timeout, deadline=deadline
        )
        return _http.answer(response.status_code, response.headers, data, self._key)

    def decide(self, action: Mapping[str, Any] | str) -> dict[str, Any]:
        """``POST /v1/decide``: the decision JSON (the same as ``gatehouse
        eval``); nothing is stored."""
        return self._decision(self._call("POST", "/v1/decide", body=_http.encode(action)))

    def decide_many(self, actions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``POST /v1/decide`` with an array: one decision per action, in order."""
        doc = self._call("POST", "/v1/decide", body=_http.encode(list(actions)))
        if not isinstance(doc, list):
            raise ProtocolError("a batch decision answer must be a JSON array")
        return [self._decision(d) for d in doc]

    def create_request(self, action: Mapping[str, Any] | str, *, idempotency_key: str | None = None) -> Request:
        """``POST /v1/requests``: decides and holds the action. Sends an
        ``Idempotency-Key`` (a random one unless given)."""
        key = _http.idempotency_key(idempotency_key)
        return self._request(self._call("POST", "/v1/requests", body=_http.encode(action), idem=key))

    def get_request(self, request_id: str) -> Request:
        """``GET /v1/requests/{id}``."""
        return self._get(request_id, None)

    def _get(self, request_id: str, deadline: float | None) -> Request:
        return self._request(self._call("GET", _http.request_path(request_id), deadline=deadline), request_id)

    def wait(
        self,
        request_id: str,
        *,
        state: str | None = None,
        since_version: int | None = None,
        timeout: float | None = None,
    ) -> Request:
        """One long-poll (``GET …/wait``): the request once it changes
        (``raw["changed"]`` True) or at the timeout (False). ``state``:
        answer once it leaves this state; ``since_version``: once its
        version is above this one; ``timeout`` in seconds (rounded up; the
        server caps it). Bounded: ends within ``timeout`` (60 s when None)
        plus the client's ``timeout``, else raises
        :class:`~gatehouse.errors.WaitTimeout`."""
        params = self._wait_params(state, since_version, timeout)
        path = _http.request_path(request_id, "/wait")
        bound = self._wait_read_timeout(timeout)
        deadline = time.monotonic() + bound
        doc = self._call("GET", path, params=params, read_timeout=bound, deadline=deadline)
        return self._request(doc, request_id)

    def events(self, request_id: str, *, timeout: float | None = None) -> Generator[Request, None, None]:
        """``GET …/events``: the request now, then at every change, until
        the stream ends (a final state, or the server's wait cap). With
        ``timeout``, the iteration also ends (quietly) once it has passed."""
        _http.check_timeout(timeout)
        _http.request_path(request_id)  # a bad id is refused here, not at the first next()
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._events_until(request_id, deadline)

    def _events_until(self, request_id: str, deadline: float | None) -> Generator[Request, None, None]:
        try:
            yield from self._events(request_id, deadline, None)
        except WaitTimeout:
            return  # the caller's timeout: the iteration ends quietly

    def _events(
        self, request_id: str, deadline: float | None, parser: SseParser | None
    ) -> Generator[Request, None, None]:
        path = _http.request_path(request_id, "/events")
        parser = parser or SseParser(self.max_response_bytes)
        headers = self._headers_for(accept=_SSE)
        try:
            if _http.past(deadline):
                raise _http.timed_out()
            timeout = self._timeout(self._sse_read_timeout(deadline), deadline)
            with _http.BoundedStream(
                lambda: self._http.stream("GET", path, headers=headers, timeout=timeout), deadline
            ) as exchange:
                response = exchange.response
                if not 200 <= response.status_code < 300:
                    data = self._read_body(exchange)
                    raise _http.error_for(response.status_code, response.headers, data, self._key)
                _http.expect_event_stream(response)
                for chunk in exchange.chunks():
                    for event in parser.feed(chunk):
                        if event.event == "request":
                            yield self._request(_http.parse_json(event.data.encode("utf-8")), request_id)
        except _http.TRANSPORT_ERRORS as e:
            raise _http.failed(e, deadline, self._key) from None

    def wait_for_decision(self, request_id: str, *, timeout: float) -> Request:
        """Waits until the request leaves pending/escalated (approved,
        rejected, blocked, cancelled, ...) and gives it.

        Listens on the event stream, reconnecting when it ends or breaks;
        falls back to long-polls when the stream cannot be read. A
        refusal (401, 403, 404) is raised at once; 429 and 5xx answers and
        broken connections are retried after a back-off (``Retry-After``,
        ``retry:``). An answer about another request than ``request_id`` is
        a :class:`~gatehouse.errors.ProtocolError`. Never runs past
        ``timeout`` seconds, whatever the server does (every read of every
        exchange is bounded by the time left; see the docs for the exact
        bound): then raises :class:`~gatehouse.errors.WaitTimeout` with the
        last request seen.
        """
        _http.check_timeout(timeout)
        deadline = time.monotonic() + timeout
        last: list[Request] = []
        try:
            return self._wait_for_decision(request_id, deadline, last)
        except WaitTimeout:
            raise WaitTimeout(f"no decision on {request_id!r} within {timeout} s", last[-1] if last else None) from None

    def _wait_for_decision(self, request_id: str, deadline: float, box: list[Request]) -> Request:
        """The wait's loop; keeps the last request seen in ``box`` for the
        timeout's error."""
        last: Request | None = None
        use_sse, backoff, delay = True, 0.0, 0.0
        retry: float | None = None  # the stream's `retry:`, kept across connections
        while True:
            if last is not None:
                box[:] = [last]
                if not last.is_pending:
                    return last
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _http.timed_out()
            if delay > 0:
                time.sleep(min(delay, remaining))
                delay = 0.0
                continue
            try:
                if use_sse:
                    before = last.version if last else -1
                    # A fresh parser per connection: a half-read event of a
                    # broken stream must not prefix the next stream's first.
                    parser = SseParser(self.max_response_bytes)
                    parser.retry = retry
                    for seen in self._events(request_id, deadline, parser):
                        last = _newer(last, seen)
                        box[:] = [last]
                        if not last.is_pending:
                            return last
                    progressed = last is not None and last.version > before
                    backoff = _BACKOFF_FIRST if progressed else _next_backoff(backoff)
                    retry = parser.retry
                    # Never below the back-off: a `retry: 0` from streams
                    # that end at once must not make a busy loop.
                    delay = max(retry or 0.0, backoff)
                elif last is None:
                    last = self._get(request_id, deadline)
                else:
                    seconds = int(remaining)
                    if seconds < 1:
                        delay = remaining
                        last = _newer(last, self._get(request_id, deadline))
                        continue
                    # The read may take no longer than the time left (the
                    # server answers by `seconds`, which is below it).
                    params = self._wait_params(None, last.version, seconds)
                    path = _http.request_path(request_id, "/wait")
                    doc = self._call("GET", path, params=params, read_timeout=remaining, deadline=deadline)
                    seen = self._request(doc, request_id)
                    # A server that answers "unchanged" at once must not
                    # turn the loop into a busy one.
                    backoff = 0.0 if seen.version > last.version else _next_backoff(backoff)
                    delay = backoff
                    last = _newer(last, seen)
            except (ProtocolError, MethodNotAllowed, NoRoute):
                if not use_sse:
                    raise
                use_sse = False
            except TooManyRequests as e:
                delay = e.retry_after if e.retry_after is not None else _BACKOFF_MAX
            except (GatehouseConnectionError, ServerError):
                backoff = _next_backoff(backoff)
                delay = backoff

    def review(
        self,
        request_id: str,
        decision: Review,
        *,
        reason: str | None = None,
        action_digest: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request:
        """``POST …/decisions``: approve, reject or request changes.
        ``action_digest`` binds the review to the action the reviewer saw.
        Sends an ``Idempotency-Key`` (a random one unless given)."""
        key = _http.idempotency_key(idempotency_key)
        body = _review_body(decision, reason, action_digest)
        path = _http.request_path(request_id, "/decisions")
        return self._request(self._call("POST", path, body=body, idem=key), request_id)

    def claim(self, request_id: str, action: Mapping[str, Any] | str) -> Request:
        """``POST …/claim`` with the action about to run: the one grant to
        execute it (the request becomes ``executing``)."""
        path = _http.request_path(request_id, "/claim")
        return self._request(self._call("POST", path, body=_http.encode(action)), request_id)

    def report_executed(self, request_id: str, result: Mapping[str, Any]) -> Request:
        """``POST …/executed``: the execution's result (any JSON object)."""
        body = _http.encode_object(result, "result")
        return self._request(self._call("POST", _http.request_path(request_id, "/executed"), body=body), request_id)

    def report_verified(self, request_id: str, result: Mapping[str, Any]) -> Request:
        """``POST …/verified``: the outcome check (any JSON object)."""
        body = _http.encode_object(result, "result")
        return self._request(self._call("POST", _http.request_path(request_id, "/verified"), body=body), request_id)

    def cancel(self, request_id: str, *, reason: str | None = None) -> Request:
        """``POST …/cancel``: the requester withdraws a pending request."""
        body = _http.encode({"reason": reason} if reason is not None else {})
        return self._request(self._call("POST", _http.request_path(request_id, "/cancel"), body=body), request_id)

    def list_requests(self, **filters: Any) -> list[Request]:
        """``GET /v1/requests``: one page, newest first. Filters: ``state``
        (a str or a list of them), ``tier``, ``role``, ``agent``,
        ``min_age``, ``max_age``, ``limit``, ``before``."""
        return self._page(self._call("GET", "/v1/requests", params=_http.list_params(filters)))[0]

    def iter_requests(self, **filters: Any) -> Iterator[Request]:
        """Every request the filters select, page after page (``before`` is
        managed here)."""
        filters.pop("before", None)
        seen: set[str] = set()
        before: str | None = None
        while True:
            params = _http.list_params({**filters, "before": before})
            page, before = self._page(self._call("GET", "/v1/requests", params=params))
            yield from page
            if before is None:
                return
            if before in seen:
                raise ProtocolError("the request list pages in a loop")
            seen.add(before)

    def audit(self, request_id: str) -> list[dict[str, Any]]:
        """``GET …/audit``: the request's audit records, in order."""
        text = self._call_text(_http.request_path(request_id, "/audit"))
        return _audit_lines(text)

    def _call_text(self, path: str) -> bytes:
        response, data = self._exchange("GET", path, accept="application/jsonl")
        if not 200 <= response.status_code < 300:
            raise _http.error_for(response.status_code, response.headers, data, self._key)
        return data


def _audit_lines(text: bytes) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        if line.strip():
            record = _http.parse_json(line)
            if not isinstance(record, dict):
                raise ProtocolError("an audit line is not a JSON object")
            records.append(record)
    return records


class AsyncGatehouseClient(_Base):
    """The same client for ``asyncio`` or ``trio`` (through anyio): every
    method is ``async``, :meth:`events` is an async iterator, and it is an
    ``async with`` context manager."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        max_response_bytes: int = _http.DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__(base_url, api_key, timeout, headers, max_response_bytes)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, transport=transport, follow_redirects=False, timeout=self._timeout()
        )

    async def close(self) -> None:
        """Closes the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncGatehouseClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: list[tuple[str, str]] | None = None,
        idem: str | None = None,
        read_timeout: float | None = None,
        accept: str = _JSON,
        raw: bool = False,
        deadline: float | None = None,
    ) -> Any:
        headers = self._headers_for(accept=accept, idem=idem, body=body is not None)
        if _http.past(deadline):
            raise _http.timed_out()
        try:
            # The cancel scope bounds the connect, the send and the headers
            # too; `_read_body` bounds each read of the body.
            with anyio.move_on_after(self._left(deadline)) as scope:
                async with self._http.stream(
                    method,
                    path,
                    content=body,
                    params=tuple(params or ()),
                    headers=headers,
                    timeout=self._timeout(read_timeout, deadline),
                ) as response:
                    data = await self._read_body(response, deadline)
            if scope.cancelled_caught:
                raise _http.timed_out()
        except _http.TRANSPORT_ERRORS as e:
            raise _http.failed(e, deadline, self._key) from None
        if raw:
            if not 200 <= response.status_code < 300:
                raise _http.error_for(response.status_code, response.headers, data, self._key)
            return data
        return _http.answer(response.status_code, response.headers, data, self._key)

    @staticmethod
    def _left(deadline: float | None) -> float:
        return float("inf") if deadline is None else deadline - time.monotonic()

    async def _read_body(self, response: httpx.Response, deadline: float | None) -> bytes:
        """A whole answer, capped, read under the deadline."""
        _http.check_length(response, self.max_response_bytes)
        data = _http.Capped(self.max_response_bytes)
        chunks = response.aiter_bytes()
        while (chunk := await _http.next_chunk(chunks, deadline)) is not None:
            data.add(chunk)
        return data.body()

    async def decide(self, action: Mapping[str, Any] | str) -> dict[str, Any]:
        """``POST /v1/decide``: the decision JSON; nothing is stored."""
        return self._decision(await self._call("POST", "/v1/decide", body=_http.encode(action)))

    async def decide_many(self, actions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``POST /v1/decide`` with an array: one decision per action, in order."""
        doc = await self._call("POST", "/v1/decide", body=_http.encode(list(actions)))
        if not isinstance(doc, list):
            raise ProtocolError("a batch decision answer must be a JSON array")
        return [self._decision(d) for d in doc]

    async def create_request(self, action: Mapping[str, Any] | str, *, idempotency_key: str | None = None) -> Request:
        """``POST /v1/requests``; sends an ``Idempotency-Key`` (random unless given)."""
        key = _http.idempotency_key(idempotency_key)
        return self._request(await self._call("POST", "/v1/requests", body=_http.encode(action), idem=key))

    async def get_request(self, request_id: str) -> Request:
        """``GET /v1/requests/{id}``."""
        return self._request(await self._call("GET", _http.request_path(request_id)), request_id)

    async def wait(
        self,
        request_id: str,
        *,
        state: str | None = None,
        since_version: int | None = None,
        timeout: float | None = None,
    ) -> Request:
        """One long-poll; see :meth:`GatehouseClient.wait`."""
        params = self._wait_params(state, since_version, timeout)
        path = _http.request_path(request_id, "/wait")
        bound = self._wait_read_timeout(timeout)
        deadline = time.monotonic() + bound
        doc = await self._call("GET", path, params=params, read_timeout=bound, deadline=deadline)
        return self._request(doc, request_id)

    async def events(self, request_id: str, *, timeout: float | None = None) -> AsyncGenerator[Request, None]:
        """``GET …/events`` as an async iterator; see :meth:`GatehouseClient.events`."""
        _http.check_timeout(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            async with aclosing(self._events(request_id, deadline, None)) as stream:
                async for seen in stream:
                    yield seen
        except WaitTimeout:
            return  # the caller's timeout: the iteration ends quietly

    async def _events(
        self, request_id: str, deadline: float | None, parser: SseParser | None
    ) -> AsyncGenerator[Request, None]:
        path = _http.request_path(request_id, "/events")
        parser = parser or SseParser(self.max_response_bytes)
        headers = self._headers_for(accept=_SSE)
        if _http.past(deadline):
            raise _http.timed_out()
        try:
            # No cancel scope may span a `yield` of an async generator: the
            # headers wait in one of its own, each body read in `_http.next_chunk`.
            response: httpx.Response | None = None
            with anyio.move_on_after(self._left(deadline)):
                timeout = self._timeout(self._sse_read_timeout(deadline), deadline)
                built = self._http.build_request("GET", path, headers=headers, timeout=timeout)
                response = await self._http.send(built, stream=True)
            if response is None:
                raise _http.timed_out()
            try:
                if not 200 <= response.status_code < 300:
                    data = await self._read_body(response, deadline)
                    raise _http.error_for(response.status_code, response.headers, data, self._key)
                _http.expect_event_stream(response)
                chunks = response.aiter_bytes()
                while (chunk := await _http.next_chunk(chunks, deadline)) is not None:
                    for event in parser.feed(chunk):
                        if event.event == "request":
                            yield self._request(_http.parse_json(event.data.encode("utf-8")), request_id)
            finally:
                await response.aclose()
        except _http.TRANSPORT_ERRORS as e:
            raise _http.failed(e, deadline, self._key) from None

    async def wait_for_decision(self, request_id: str, *, timeout: float) -> Request:
        """Waits until the request leaves pending/escalated; see
        :meth:`GatehouseClient.wait_for_decision`. The whole wait runs in a
        cancel scope of ``timeout`` seconds, so it ends then however the
        server behaves."""
        _http.check_timeout(timeout)
        box: list[Request] = []
        with anyio.move_on_after(timeout):
            return await self._wait_for_decision(request_id, box)
        raise WaitTimeout(f"no decision on {request_id!r} within {timeout} s", box[-1] if box else None)

    async def _wait_for_decision(self, request_id: str, box: list[Request]) -> Request:
        use_sse, backoff = True, 0.0
        retry: float | None = None  # the stream's `retry:`, kept across connections

        def seen_(seen: Request) -> Request:
            box.append(_newer(box[-1] if box else None, seen))
            del box[:-1]
            return box[-1]

        while True:
            delay = 0.0
            try:
                if use_sse:
                    before = box[-1].version if box else -1
                    parser = SseParser(self.max_response_bytes)  # fresh per connection
                    parser.retry = retry
                    async with aclosing(self._events(request_id, None, parser)) as stream:
                        async for seen in stream:
                            if not seen_(seen).is_pending:
                                return box[-1]
                    progressed = bool(box) and box[-1].version > before
                    backoff = _BACKOFF_FIRST if progressed else _next_backoff(backoff)
                    retry = parser.retry
                    delay = max(retry or 0.0, backoff)  # never below the back-off
                elif not box:
                    seen_(await self.get_request(request_id))
                else:
                    before = box[-1].version
                    seen = seen_(await self.wait(request_id, since_version=before))
                    backoff = 0.0 if seen.version > before else _next_backoff(backoff)
                    delay = backoff
            except (ProtocolError, MethodNotAllowed, NoRoute):
                if not use_sse:
                    raise
                use_sse = False
            except TooManyRequests as e:
                delay = e.retry_after if e.retry_after is not None else _BACKOFF_MAX
            except (GatehouseConnectionError, ServerError, WaitTimeout):
                # WaitTimeout: one long-poll's own bound (the server never
                # answered it); the whole wait's bound is the cancel scope.
                backoff = _next_backoff(backoff)
                delay = backoff
            if box and not box[-1].is_pending:
                return box[-1]
            if delay > 0:
                await anyio.sleep(delay)

    async def review(
        self,
        request_id: str,
        decision: Review,
        *,
        reason: str | None = None,
        action_digest: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request:
        """``POST …/decisions``; see :meth:`GatehouseClient.review`."""
        key = _http.idempotency_key(idempotency_key)
        body = _review_body(decision, reason, action_digest)
        path = _http.request_path(request_id, "/decisions")
        return self._request(await self._call("POST", path, body=body, idem=key), request_id)

    async def claim(self, request_id: str, action: Mapping[str, Any] | str) -> Request:
        """``POST …/claim`` with the action about to run."""
        path = _http.request_path(request_id, "/claim")
        return self._request(await self._call("POST", path, body=_http.encode(action)), request_id)

    async def report_executed(self, request_id: str, result: Mapping[str, Any]) -> Request:
        """``POST …/executed``: the execution's result."""
        body = _http.encode_object(result, "result")
        path = _http.request_path(request_id, "/executed")
        return self._request(await self._call("POST", path, body=body), request_id)

    async def report_verified(self, request_id: str, result: Mapping[str, Any]) -> Request:
        """``POST …/verified``: the outcome check."""
        body = _http.encode_object(result, "result")
        path = _http.request_path(request_id, "/verified")
        return self._request(await self._call("POST", path, body=body), request_id)

    async def cancel(self, request_id: str, *, reason: str | None = None) -> Request:
        """``POST …/cancel``: the requester withdraws a pending request."""
        body = _http.encode({"reason": reason} if reason is not None else {})
        return self._request(await self._call("POST", _http.request_path(request_id, "/cancel"), body=body), request_id)

    async def list_requests(self, **filters: Any) -> list[Request]:
        """``GET /v1/requests``: one page; see :meth:`GatehouseClient.list_requests`."""
        return self._page(await self._call("GET", "/v1/requests", params=_http.list_params(filters)))[0]

    async def iter_requests(self, **filters: Any) -> AsyncGenerator[Request, None]:
        """Every request the filters select, page after page."""
        filters.pop("before", None)
        seen: set[str] = set()
        before: str | None = None
        while True:
            params = _http.list_params({**filters, "before": before})
            page, before = self._page(await self._call("GET", "/v1/requests", params=params))
            for request in page:
                yield request
            if before is None:
                return
            if before in seen:
                raise ProtocolError("the request list pages in a loop")
            seen.add(before)

    async def audit(self, request_id: str) -> list[dict[str, Any]]:
        """``GET …/audit``: the request's audit records, in order."""
        path = _http.request_path(request_id, "/audit")
        return _audit_lines(await self._call("GET", path, accept="application/jsonl", raw=True))
