"""Provider rate limits: token buckets (GCRA) for requests and tokens per minute, retry-after pauses."""
import pytest

from evo.errors import BackendError
from evo.evaluation.rate_limit import RateLimitConfig, RateLimitedBackend, TokenBuckets
from evo.llm.base import LLMRequest, LLMResponse


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_requests_per_minute_spaces_calls_after_the_burst():
    clock = Clock()
    buckets = TokenBuckets(RateLimitConfig(requests_per_minute=60, burst_s=3), clock)
    waits = [buckets.reserve() for _ in range(6)]
    assert waits[:3] == [0, 0, 0]  # three seconds' worth at once
    assert waits[3:] == pytest.approx([1, 2, 3])  # then one a second, booked in order
    clock.t += 10  # idle time refills the bucket, up to its capacity
    assert [buckets.reserve() for _ in range(4)] == pytest.approx([0, 0, 0, 1])


def test_tokens_per_minute_and_the_stricter_limit_wins():
    clock = Clock()
    buckets = TokenBuckets(RateLimitConfig(requests_per_minute=600, tokens_per_minute=6000, burst_s=1), clock)
    assert buckets.reserve(100) == 0
    assert buckets.reserve(100) == pytest.approx(1.0)  # 100 tokens = 1 s of the token rate, burst 1 s


def test_pause_holds_everyone():
    clock = Clock()
    buckets = TokenBuckets(RateLimitConfig(requests_per_minute=6000), clock)
    buckets.pause(2.5)
    assert buckets.reserve() == pytest.approx(2.5) and buckets.stats()["pauses"] == 1


class Flaky:
    fingerprint, max_concurrency = "flaky", None

    def __init__(self, failures):
        self.failures = list(failures)
        self.calls = 0

    def complete(self, request):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return LLMResponse(text="ok")

    def flush(self):
        pass


def test_429_pauses_the_limiter_for_retry_after_then_retries():
    clock, slept = Clock(), []
    buckets = TokenBuckets(RateLimitConfig(requests_per_minute=6000), clock)
    inner = Flaky([BackendError("429", status=429, retryable=True, retry_after_s=4.0)])
    backend = RateLimitedBackend(inner, buckets, max_pause_retries=2, sleep=slept.append)
    assert backend.complete(LLMRequest(messages=(("user", "x"),))).text == "ok"
    assert inner.calls == 2 and slept == [pytest.approx(4.0)]


def test_other_errors_and_exhausted_pauses_fail_the_call():
    buckets = TokenBuckets(RateLimitConfig(requests_per_minute=6000), Clock())
    req = LLMRequest(messages=(("user", "x"),))
    with pytest.raises(BackendError, match="bad"):
        RateLimitedBackend(Flaky([BackendError("bad", status=400)]), buckets, sleep=lambda s: None).complete(req)
    rate_limited = [BackendError("429", status=429, retryable=True)] * 3
    with pytest.raises(BackendError, match="429"):
        RateLimitedBackend(Flaky(rate_limited), buckets, max_pause_retries=2, sleep=lambda s: None).complete(req)
