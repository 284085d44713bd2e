"""What the sync and async clients share: paths, bodies, headers, reading
answers into values or typed errors, and the bounded reads of a wait."""

from __future__ import annotations

import json
import math
import queue
import re
import socket
import threading
import time
import uuid
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from urllib.parse import quote

import anyio
import httpx

from .errors import (
    EncodeError,
    GatehouseConnectionError,
    ProblemError,
    ProtocolError,
    ResponseTooLarge,
    WaitTimeout,
    problem_class,
)

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# How much of a non-problem error body is kept as the error's detail.
_DETAIL_CHARS = 512
# Visible ASCII, 1 to 255 characters: what the server takes as a key.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_MAX_ID_CHARS = 1024
# The list filters the service knows; others are sent as given (and the
# server answers 422 INVALID_BODY naming `query.NAME`).
_SEQUENCE_FILTERS = frozenset({"state"})


def request_path(request_id: str, tail: str = "") -> str:
    """``/v1/requests/{id}{tail}`` with the id escaped as one path segment.

    Every character but unreserved ones is percent-encoded (``/``, ``?``,
    ``#``, ``%``), so an id can never leave its segment; ``.`` and ``..``
    alone are refused, since URL normalisation would resolve them as dot
    segments."""
    if not isinstance(request_id, str):
        raise TypeError(f"a request id is a str, not {type(request_id).__name__}")
    if request_id in ("", ".", "..") or len(request_id) > _MAX_ID_CHARS:
        raise ValueError(f"not a request id: {request_id[:64]!r}")
    return f"/v1/requests/{quote(request_id, safe='')}{tail}"


def idempotency_key(key: str | None) -> str:
    """The caller's key, checked, or a new random one (so a retry of the
    same call with the same key is answered once)."""
    if key is None:
        return f"py-{uuid.uuid4().hex}"
    if not isinstance(key, str) or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ValueError("an Idempotency-Key is 1 to 255 visible ASCII characters")
    return key


def encode(value: Any) -> bytes:
    """A body: JSON text is sent as it is (the server judges it), anything
    else is encoded strictly (no NaN, no non-JSON types)."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as e:
        raise EncodeError(f"not encodable as JSON: {e}") from None


def encode_object(value: Any, what: str) -> bytes:
    """A JSON object body from a mapping."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} is a mapping, not {type(value).__name__}")
    return encode(dict(value))


def list_params(filters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The query of ``GET /v1/requests``; None values are left out."""
    params: list[tuple[str, str]] = []
    for name, value in filters.items():
        if value is None:
            continue
        if name in _SEQUENCE_FILTERS and not isinstance(value, str):
            value = ",".join(_scalar(name, v) for v in value)
        params.append((name, _scalar(name, value)))
    return params


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f"the filter {name!r} takes a str or a number, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"the filter {name!r} is not a finite number")
    return str(value)


def check_timeout(timeout: float | None, name: str = "timeout") -> None:
    """A timeout is a finite, non-negative number of seconds."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, not {timeout!r}")


def check_base_url(base_url: str) -> str:
    """``http(s)://host[:port][/prefix]``, without a trailing slash."""
    if not isinstance(base_url, str):
        raise TypeError("base_url is a str")
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as e:
        raise ValueError(f"not a URL: {e}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("base_url must be an http:// or https:// URL with a host")
    if url.userinfo:
        raise ValueError("base_url must not carry credentials; pass api_key")
    if url.query or url.fragment:
        raise ValueError("base_url must not have a query or fragment")
    return base_url.rstrip("/")


def headers_for(
    base: Mapping[str, str], api_key: str | None, *, accept: str, idem: str | None = None, body: bool = False
) -> httpx.Headers:
    """The headers of one call. The key is added here, per call, never to
    the HTTP client's defaults (so it shows in no client repr)."""
    # httpx.Headers replaces case-insensitively: a caller's `authorization`
    # never travels beside the key (two Authorization headers are a 401).
    headers = httpx.Headers(base)
    headers["Accept"] = accept
    # Counted bytes are decoded bytes: asking for no compression keeps a
    # compressed answer from expanding past the cap inside one chunk.
    headers["Accept-Encoding"] = "identity"
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    if body:
        headers["Content-Type"] = "application/json"
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return headers


def check_length(response: httpx.Response, cap: int) -> None:
    """Refuses an answer whose declared length is over the cap before reading it."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > cap:
        raise ResponseTooLarge(f"the answer declares {declared} bytes, over the cap of {cap}")


class Capped:
    """Collects an answer's chunks, refusing more than ``cap`` bytes."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> None:
        """One more chunk; :class:`ResponseTooLarge` past the cap."""
        self.size += len(chunk)
        if self.size > self.cap:
            raise ResponseTooLarge(f"the answer is over the cap of {self.cap} bytes")
        self.parts.append(chunk)

    def body(self) -> bytes:
        """Everything read."""
        return b"".join(self.parts)


def answer(status: int, headers: httpx.Headers, body: bytes, api_key: str | None) -> Any:
    """The JSON of a 2xx answer, or the typed error of any other."""
    if 200 <= status < 300:
        return parse_json(body)
    raise error_for(status, headers, body, api_key)


def parse_json(body: bytes) -> Any:
    """JSON, or :class:`ProtocolError`."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"the answer is not JSON: {str(e)[:200]}") from None


def error_for(status: int, headers: httpx.Headers, body: bytes, api_key: str | None) -> ProblemError:
    """The :class:`ProblemError` subclass for an error answer. The API key
    is blanked out of the body first, should a server echo it."""
    if api_key:
        body = body.replace(api_key.encode("utf-8", errors="replace"), b"***")
    problem: dict[str, Any] | None = None
    text = ""
    try:
        doc = json.loads(body) if body else None
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, dict) and ("code" in doc or "type" in doc or "title" in doc):
        problem = doc
    else:
        text = body[: _DETAIL_CHARS * 4].decode("utf-8", errors="replace")[:_DETAIL_CHARS].strip()
    code = problem.get("code") if problem else None
    cls = problem_class(status, code if isinstance(code, str) else None)
    return cls(status, problem, retry_after=retry_after(headers), body=text)


def retry_after(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), at most a day."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value[:9]), 86400))
    try:
        when = parsedate_to_datetime(value)
        date = headers.get("date")
        now = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError, IndexError):
        return None
    if now is None:
        return None
    return float(min(max((when - now).total_seconds(), 0.0), 86400.0))


def connection_error(e: BaseException, api_key: str | None) -> GatehouseConnectionError:
    """A transport failure, described without the HTTP library's request
    (which holds the headers, the key among them)."""
    message = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    if api_key:
        message = message.replace(api_key, "***")
    return GatehouseConnectionError(message)


# What httpx raises for a failed exchange: transport errors, timeouts,
# protocol errors, a closed stream, a URL it cannot send to.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL)


def expect_event_stream(response: httpx.Response) -> None:
    """A 2xx answer to ``/events`` must be ``text/event-stream``."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "text/event-stream":
        raise ProtocolError(f"the event stream answered {kind or 'no content type'}, not text/event-stream")


# --- bounded reads -------------------------------------------------------------
#
# A bounded wait (`wait_for_decision`, `events(timeout=)`, `wait(timeout=)`)
# has one deadline, and every exchange made for it reads through the helpers
# below, never through `iter_bytes` directly. Invariant: no read of such an
# exchange ends after the deadline, whatever the server does. httpx's own read
# timeout cannot give that: it bounds each read, and every byte of a server
# that trickles starts a new one. So:
# - every step gets at most the time left (`_Base._timeout(..., deadline)`);
# - each chunk is checked against the deadline as it arrives;
# - (sync) the exchange runs in a worker thread (`BoundedStream`) and the
#   caller takes its head and chunks from a queue, never waiting past the
#   deadline, so not even a server that trickles its headers (or a slow
#   name resolution) can hold the caller; a timer shuts the socket down at
#   the deadline, which ends the worker's blocked body read at once;
# - (async) each step runs in a cancel scope that ends at the deadline.


def past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def timed_out() -> WaitTimeout:
    # `last` is filled in by `wait_for_decision`, which knows it.
    return WaitTimeout("the wait's deadline passed during an exchange", None)


def _shut_down(sock: socket.socket) -> None:
    try:
        # The plain socket's method, also for TLS: SSLSocket.shutdown would
        # drop its SSL object under the thread that is reading.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing is blocked on it


class Watchdog:
    """Shuts the answer's socket down when the deadline passes (a blocked
    read then returns at once). A transport without a socket (a test's
    MockTransport) is left to the per-chunk check."""

    def __init__(self, response: httpx.Response, deadline: float | None) -> None:
        self._timer: threading.Timer | None = None
        if deadline is None:
            return
        stream = response.extensions.get("network_stream")
        extra = getattr(stream, "get_extra_info", None)
        sock = extra("socket") if callable(extra) else None
        if not isinstance(sock, socket.socket):
            return
        self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), _shut_down, (sock,))
        self._timer.daemon = True
        self._timer.start()

    def __enter__(self) -> Watchdog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # A timer that fires after the exchange shuts a pooled connection
        # down; httpcore sees it readable (EOF) and never reuses it.
        if self._timer is not None:
            self._timer.cancel()


def chunks(response: httpx.Response, deadline: float | None) -> Iterator[bytes]:
    """The answer's chunks; :class:`WaitTimeout` for one that arrives
    after the deadline. Read inside ``Watchdog(response, deadline)``."""
    for chunk in response.iter_bytes():
        if past(deadline):
            raise timed_out()
        yield chunk


async def next_chunk(chunks: AsyncIterator[bytes], deadline: float | None) -> bytes | None:
    """The answer's next chunk (None at its end); :class:`WaitTimeout` when
    the deadline passes first."""
    if deadline is None:
        return await anext(chunks, None)
    with anyio.move_on_after(deadline - time.monotonic()):
        chunk = await anext(chunks, None)
        if not past(deadline):
            return chunk
    raise timed_out()


def failed(e: BaseException, deadline: float | None, key: str | None) -> Exception:
    """What a transport failure becomes: a wait's timeout when the deadline
    passed (the watchdog's shutdown, or a read given only the time left),
    else a connection error."""
    return timed_out() if past(deadline) else connection_error(e, key)


class BoundedStream:
    """One sync exchange, ``with``-managed: ``response`` (its status and
    headers) and :meth:`chunks` (its body), neither ever waited for past
    ``deadline`` (:class:`WaitTimeout` then). ``open_stream`` is the
    ``httpx.Client.stream(...)`` of the exchange.

    Without a deadline the exchange runs in the caller's thread. With one,
    it runs in a daemon worker that hands its parts over a small queue;
    leaving the ``with`` tells the worker to stop at its next step, and
    the watchdog ends its body read at the deadline. (A server holding
    back its headers keeps the worker, not the caller, until httpx's own
    timeouts end it.)"""

    def __init__(
        self, open_stream: Callable[[], AbstractContextManager[httpx.Response]], deadline: float | None
    ) -> None:
        self._open = open_stream
        self._deadline = deadline
        # Small: the worker never reads far ahead of the caller (memory).
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=4)
        self._stop = threading.Event()
        self._direct: AbstractContextManager[httpx.Response] | None = None
        self.response: httpx.Response

    def __enter__(self) -> BoundedStream:
        if self._deadline is None:
            self._direct = self._open()
            self.response = self._direct.__enter__()
            return self
        threading.Thread(target=self._work, name="gatehouse-bounded-read", daemon=True).start()
        try:
            self.response = self._take()
        except BaseException:
            self._stop.set()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._direct is not None:
            self._direct.__exit__(kind, exc, tb)
        self._stop.set()

    def chunks(self) -> Iterator[bytes]:
        """The body's chunks, each one taken by the deadline."""
        if self._direct is not None:
            yield from self.response.iter_bytes()
            return
        while (chunk := self._take()) is not None:
            yield chunk

    def _take(self) -> Any:
        assert self._deadline is not None
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise timed_out()
        try:
            kind, value = self._queue.get(timeout=left)
        except queue.Empty:
            raise timed_out() from None
        if kind == "error":
            raise value
        return value

    def _work(self) -> None:
        try:
            with self._open() as response:
                if not self._put("part", response):
                    return
                with Watchdog(response, self._deadline):
                    for chunk in chunks(response, self._deadline):
                        if not self._put("part", chunk):
                            return
            self._put("part", None)
        except BaseException as e:  # handed to the caller, who raises it
            self._put("error", e)

    def _put(self, kind: str, value: Any) -> bool:
        # Polls the stop flag while the queue is full: a caller that left
        # never takes again, and the worker must not block for good.
        while not self._stop.is_set():
            try:
                self._queue.put((kind, value), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False
