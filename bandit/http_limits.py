"""Request limits of the router's HTTP service, as ASGI middleware and a per-client token bucket:
``BodyLimit`` (413 past a body size, and request timing for ``/metrics``) and ``ClientRateLimit``."""
from __future__ import annotations

import json
import time

from bandit.metrics import RouterMetrics

MAX_BODY_BYTES = 64 * 1024
MAX_FEATURE_BYTES = 16 * 1024


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 before the app reads it (by its
    Content-Length, or while a chunked body streams in). Also times every request for ``/metrics``."""

    def __init__(self, app, limit: int, metrics: RouterMetrics | None = None):
        self.app, self.limit, self.metrics = app, limit, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
        try:
            await self._limited(scope, receive, send_status)
        finally:
            if self.metrics is not None:
                self.metrics.observe(scope["path"], status, time.perf_counter() - start)

    async def _limited(self, scope, receive, send):
        length = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                length = value
                break
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._reject(send)
        message = await receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            body = message.get("body", b"")  # the usual case: the whole body in one message
            if len(body) > self.limit:
                return await self._reject(send)
        else:
            chunks, size, more = [message.get("body", b"")], len(message.get("body", b"")), message.get("more_body", False)
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > self.limit:
                    return await self._reject(send)
                more = message.get("more_body", False)
            body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        await self.app(scope, replay, send)

    async def _reject(self, send):
        payload = json.dumps({"detail": f"request body over {self.limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


class ClientRateLimit:
    """A token bucket per client address: ``per_minute`` calls a minute, bursts up to that many. The
    table of clients is bounded (the oldest entries are dropped past ``max_clients``)."""

    def __init__(self, per_minute: float, max_clients: int = 10_000):
        self.rate, self.burst, self.max_clients = per_minute / 60.0, max(1.0, per_minute), max_clients
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        tokens, last = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.pop(next(iter(self._buckets)))
        return allowed
