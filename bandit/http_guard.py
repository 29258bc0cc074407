"""uvicorn's httptools protocol with the limits an internet-facing server needs (used by ``bandit.service``).

uvicorn bounds neither the size of a request head nor the time a client may take to send it: one
client streaming an endless header kept a core busy, and a thousand idle connections held every file
descriptor. ``GuardedHttpToolsProtocol`` adds, per connection:

- ``max_header_bytes``: a request line + headers larger than this get 431 and the connection closes;
- ``header_timeout_s``: a connection that has not sent a whole request head this long after it opened
  (or after its previous request began) gets 408 and is closed: slowloris and half-open connections end;
- ``body_timeout_s``: the same for a body that trickles in;
- ``max_connections_per_client``: further connections from one client address are closed at once.

Limits are class attributes set once per process by ``configure`` (``bandit.service.app_from_env``).
A reverse proxy in front is still expected to add TLS, per-client rate limits and connection caps across
processes (``docs/security.md``).
"""
from __future__ import annotations

import collections

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 429: b"Too Many Requests"}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    max_header_bytes = 16 * 1024
    header_timeout_s = 10.0
    body_timeout_s = 30.0
    max_connections_per_client = 256
    _per_client: collections.Counter = collections.Counter()

    @classmethod
    def configure(cls, *, max_header_bytes: int, header_timeout_s: float, body_timeout_s: float,
                  max_connections_per_client: int) -> None:
        cls.max_header_bytes = max_header_bytes
        cls.header_timeout_s = header_timeout_s
        cls.body_timeout_s = body_timeout_s
        cls.max_connections_per_client = max_connections_per_client

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._head_bytes = 0
        self._in_head = True
        self._messages = 0
        self._deadline = None
        self._host = self.client[0] if self.client else None
        self._per_client[self._host] += 1
        if self._per_client[self._host] > self.max_connections_per_client:
            self._refuse(429, "too many connections from this client")
            return
        self._arm(self.header_timeout_s)

    def connection_lost(self, exc) -> None:
        self._disarm()
        self._per_client[self._host] -= 1
        if self._per_client[self._host] <= 0:
            del self._per_client[self._host]
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        before = self._messages
        super().data_received(data)
        if self.transport.is_closing() or not self._in_head:
            return
        # bytes of a head still incomplete after this chunk; a new request begun inside it counts from 0
        self._head_bytes = self._head_bytes + len(data) if self._messages == before else 0
        if self._head_bytes > self.max_header_bytes:
            self._refuse(431, f"request head over {self.max_header_bytes} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._messages += 1
        self._in_head = True
        self._head_bytes = 0
        self._arm(self.header_timeout_s)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._arm(self.body_timeout_s)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # ---- helpers ---------------------------------------------------------------------------------------
    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()
            return
        self._refuse(408, "request not received in time")

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        body = message.encode()
        head = (b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n" % (status, _REASONS[status], len(body)))
        self.transport.write(head + body)
        self.transport.close()
