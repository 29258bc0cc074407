"""Provider rate limits shared by every evaluator of a pool (every thread, or every Ray worker).

Contract:
- ``RateLimitConfig``: ``requests_per_minute`` and ``tokens_per_minute`` (either may be unset), and
  ``max_pause_retries``.
- ``TokenBuckets.reserve(tokens)`` books one request of about ``tokens`` tokens and returns how long
  the caller must wait before sending it (0 when both buckets have room). Bookings are first come,
  first served, so concurrent callers are spaced out instead of bursting. ``pause(seconds)`` (a
  provider's ``retry-after``) holds every later request until then. Thread-safe. On Ray one
  ``TokenBuckets`` lives in a named actor that every worker books through, so the whole cluster
  stays under the limit.
- ``RateLimitedBackend(inner, limiter)`` waits for its booking before each call. When the call fails
  with 429 after the SDK's own retries, it pauses the limiter for the error's ``retry_after_s`` (1 s
  if the provider gave none) and tries again, up to ``max_pause_retries`` times.
- A request's tokens are estimated before it is sent, as prompt characters / 4 plus ``max_tokens``
  (an upper bound for the output).
"""
from __future__ import annotations

import threading
import time

from pydantic import Field

from evo.config_base import StrictConfig
from evo.errors import BackendError
from evo.llm.base import LLMRequest, LLMResponse, request_fingerprint


class RateLimitConfig(StrictConfig):
    requests_per_minute: float | None = Field(None, gt=0, description="calls per minute, whole pool")
    tokens_per_minute: float | None = Field(None, gt=0, description="estimated input+output tokens per minute")
    max_pause_retries: int = Field(3, ge=0, description="tries after a 429 pause before the example fails")
    burst_s: float = Field(60.0, gt=0, description="bucket capacity in seconds of the rate (60: a minute's worth "
                                                   "at once, as providers allow; smaller spreads calls evenly)")


def estimated_tokens(request: LLMRequest) -> int:
    return request.prompt_chars() // 4 + request.max_tokens


class TokenBuckets:
    """Requests-per-minute and tokens-per-minute buckets (continuous refill, capacity ``burst_s``
    seconds of the rate)."""

    def __init__(self, cfg: RateLimitConfig, clock=time.monotonic):
        self.cfg = cfg
        self.clock = clock
        self._lock = threading.Lock()
        self._next_free = {"requests": clock(), "tokens": clock()}
        self._paused_until = 0.0
        self.waited_s = 0.0
        self.pauses = 0

    def reserve(self, tokens: int = 0) -> float:
        """Book a request; the seconds to wait before sending it."""
        with self._lock:
            now = self.clock()
            start = max(now, self._paused_until)
            for name, per_minute, amount in (("requests", self.cfg.requests_per_minute, 1),
                                             ("tokens", self.cfg.tokens_per_minute, tokens)):
                if per_minute:
                    # GCRA: the cursor runs ahead of now by the booked work; a booking may go once the
                    # cursor is within ``burst_s`` of now
                    cursor = max(self._next_free[name], now) + amount * 60.0 / per_minute
                    self._next_free[name] = cursor
                    start = max(start, cursor - self.cfg.burst_s)
            wait = max(0.0, start - now)
            self.waited_s += wait
            return wait

    def pause(self, seconds: float) -> None:
        with self._lock:
            self.pauses += 1
            self._paused_until = max(self._paused_until, self.clock() + seconds)

    def stats(self) -> dict:
        with self._lock:
            return {"waited_s": self.waited_s, "pauses": self.pauses}


class RateLimitedBackend:
    """``inner`` behind a shared limiter (a ``TokenBuckets`` or anything with ``reserve``/``pause``)."""

    def __init__(self, inner, limiter, max_pause_retries: int = 3, sleep=time.sleep):
        self.inner = inner
        self.limiter = limiter
        self.max_pause_retries = max_pause_retries
        self.sleep = sleep
        self.fingerprint = inner.fingerprint
        self.max_concurrency = inner.max_concurrency

    def fingerprint_for(self, request: LLMRequest) -> str:
        return request_fingerprint(self.inner, request)

    def complete(self, request: LLMRequest) -> LLMResponse:
        for attempt in range(self.max_pause_retries + 1):
            wait = self.limiter.reserve(estimated_tokens(request))
            if wait > 0:
                self.sleep(wait)
            try:
                return self.inner.complete(request)
            except BackendError as exc:
                if exc.status != 429 or attempt == self.max_pause_retries:
                    raise
                self.limiter.pause(exc.retry_after_s if exc.retry_after_s is not None else 1.0)
        raise AssertionError("unreachable")

    def flush(self) -> None:
        self.inner.flush()

    def __getattr__(self, name):  # stats(), supports_batch, ... of the wrapped backend
        return getattr(self.inner, name)
