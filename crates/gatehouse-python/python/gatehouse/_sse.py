"""A bounded, incremental Server-Sent Events parser (the WHATWG
"event stream interpretation"), fed raw bytes as they arrive.

Hand-written rather than taken from a package on purpose: the parsers at
hand buffer a line or an event without limit, and a server (or anything in
the middle) that never ends a line or an event must not be able to grow the
client's memory without bound. Invariants:

- the bytes held (the unfinished line plus the event being assembled) never
  exceed ``max_bytes``; crossing it raises :class:`ResponseTooLarge`;
- bytes that never dispatch an event (comments, unknown fields, blank
  lines) count too, up to ``max_bytes`` between two events, so a stream of
  garbage ends in an error instead of running forever;
- ``retry:`` is kept (as seconds, capped) for the caller's reconnection
  delay; every other unknown field and malformed line is ignored, as the
  standard says.
"""

from __future__ import annotations

import dataclasses

from .errors import ResponseTooLarge

# The longest reconnection delay a server's `retry:` may ask for.
MAX_RETRY_SECONDS = 30.0


@dataclasses.dataclass(frozen=True)
class Event:
    """One dispatched event."""

    event: str
    """The ``event:`` type (``"message"`` when none was given)."""
    data: str
    """The ``data:`` lines joined with newlines."""
    id: str | None
    """The last ``id:`` seen (the stream's last event id)."""


class SseParser:
    """Feeds bytes in, takes complete events out."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.max_bytes = max_bytes
        self.retry: float | None = None
        """The last ``retry:`` asked for, in seconds (capped)."""
        self.last_id: str | None = None
        self._buf = bytearray()
        self._data: list[str] = []
        self._data_len = 0
        self._event = ""
        self._since_event = 0
        self._started = False

    def feed(self, chunk: bytes) -> list[Event]:
        """The events the chunk completes (possibly none)."""
        self._buf += chunk
        self._since_event += len(chunk)
        events: list[Event] = []
        while True:
            line = self._next_line()
            if line is None:
                break
            event = self._line(line)
            if event is not None:
                events.append(event)
                self._since_event = len(self._buf)
        if len(self._buf) + self._data_len > self.max_bytes:
            raise ResponseTooLarge(f"a server-sent line or event is over {self.max_bytes} bytes")
        if self._since_event > self.max_bytes:
            raise ResponseTooLarge(f"over {self.max_bytes} bytes of the event stream without an event")
        return events

    def _next_line(self) -> bytes | None:
        buf = self._buf
        cr = buf.find(b"\r")
        lf = buf.find(b"\n")
        if cr < 0 and lf < 0:
            return None
        if cr >= 0 and (lf < 0 or cr < lf):
            # CR alone or CRLF: a CR at the very end may be half of a CRLF.
            if cr + 1 == len(buf):
                return None
            end, skip = cr, 2 if buf[cr + 1 : cr + 2] == b"\n" else 1
        else:
            end, skip = lf, 1
        line = bytes(buf[:end])
        del buf[: end + skip]
        return line

    def _line(self, raw: bytes) -> Event | None:
        text = raw.decode("utf-8", errors="replace")
        if not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")
        if text == "":
            return self._dispatch()
        if text.startswith(":"):
            return None
        name, sep, value = text.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._data_len += len(value) + 1
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self.last_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self.retry = min(int(value[:12]) / 1000.0, MAX_RETRY_SECONDS)
        return None

    def _dispatch(self) -> Event | None:
        if not self._data:
            self._event = ""
            return None
        event = Event(event=self._event or "message", data="\n".join(self._data), id=self.last_id)
        self._data = []
        self._data_len = 0
        self._event = ""
        return event
