"""A light HTTP/1.1 load generator for the router: asyncio streams, one keep-alive connection per
client, hand-built requests, no HTTP library in the loop (so it stays far from being the bottleneck).

``run_load(host, port, clients, seconds)`` has each client repeat ``POST /route`` then ``POST /reward``
for its decision until the time is up, and returns per-request latencies, the arms routed to, the
number of non-2xx answers and the generator's own CPU time (``time.process_time``), so a benchmark can
report the load generator's CPU share next to the server's throughput.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    latencies_s: list[float] = field(default_factory=list)
    arms: list[str] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)  # the first few non-2xx answers
    elapsed_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_s)


def _request(path: str, body: bytes, host: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


def _error(out: LoadResult, status: int, body: bytes) -> None:
    out.errors += 1
    if len(out.error_samples) < 5:
        out.error_samples.append(f"{status} {body[:200].decode(errors='replace')}")


LANGS, TIERS = ("en", "fr", "de", "es"), ("free", "pro")


def _varied_body(rng: random.Random, client: int) -> bytes:
    """A /route body with request features (lang, tier: 8 segments) and a sticky subject (200 per client)."""
    return json.dumps({"input": {"input": "2 + 3"}, "subject_id": f"user-{client}-{rng.randrange(200)}",
                       "features": {"lang": rng.choice(LANGS), "tier": rng.choice(TIERS)}}).encode()


async def _client(host: str, port: int, deadline: float, seed: int, route_body: bytes, out: LoadResult,
                  varied: bool = False, feedback_metric: str | None = None) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(host, port)
    route_request = _request("/route", route_body, host)
    try:
        while time.perf_counter() < deadline:
            if varied:
                route_request = _request("/route", _varied_body(rng, seed), host)
            t0 = time.perf_counter()
            status, body = await _call(reader, writer, route_request)
            t1 = time.perf_counter()
            out.latencies_s.append(t1 - t0)
            if status != 200:
                _error(out, status, body)
                continue
            decision = json.loads(body)
            value = float(rng.random() < 0.5)
            if feedback_metric is None:
                path, payload = "/reward", {"decision_id": decision["decision_id"], "reward": value}
            else:
                path, payload = "/feedback", {"decision_id": decision["decision_id"], "metric": feedback_metric,
                                              "value": value}
            status, body = await _call(reader, writer, _request(path, json.dumps(payload).encode(), host))
            out.latencies_s.append(time.perf_counter() - t1)
            if status != 200:
                _error(out, status, body)
                continue
            out.arms.append(decision["arm_id"])
    finally:
        writer.close()


async def _run(host: str, port: int, clients: int, seconds: float, route_body: bytes, varied: bool = False,
               feedback_metric: str | None = None) -> LoadResult:
    out = LoadResult()
    cpu0, t0 = time.process_time(), time.perf_counter()
    deadline = t0 + seconds
    await asyncio.gather(*(_client(host, port, deadline, k, route_body, out, varied, feedback_metric)
                           for k in range(clients)))
    out.elapsed_s, out.cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    return out


def run_load(host: str, port: int, *, clients: int = 32, seconds: float = 5.0,
             route_body: dict | None = None, varied: bool = False, feedback_metric: str | None = None) -> LoadResult:
    """Drive ``clients`` concurrent route+reward loops for ``seconds``; uvloop when installed. ``varied``:
    every /route carries features and a sticky subject; ``feedback_metric``: rewards go to /feedback as
    that (objective) metric."""
    body = json.dumps(route_body if route_body is not None else {"input": {"input": "2 + 3"}}).encode()
    try:
        import uvloop
        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a bench dependency
        runner = asyncio.run
    return runner(_run(host, port, clients, seconds, body, varied, feedback_metric))
