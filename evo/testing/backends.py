"""``BackendConformance``: the contract every LLM backend keeps, as a test class to subclass (pytest).

Implement ``make_backend()`` (a working backend) and, to test error mapping,
``make_failing_backend(kind)`` with ``kind`` ``"retryable"`` (rate limit, overload, timeout) or
``"fatal"`` (bad request, auth); return None for a kind the backend cannot be made to show.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from evo.errors import BackendError
from evo.llm.base import LLMRequest, LLMResponse

REQUEST = LLMRequest(messages=(("user", "2 + 3"),), system="Answer with the number only.", max_tokens=8, seed=1)


class BackendConformance:
    concurrent_calls = 4

    def make_backend(self):
        raise NotImplementedError

    def make_failing_backend(self, kind: str):
        return None

    def test_fingerprint_is_a_stable_string(self):
        a, b = self.make_backend(), self.make_backend()
        assert isinstance(a.fingerprint, str) and a.fingerprint
        assert a.fingerprint == b.fingerprint  # same configuration: the cache must hit across instances

    def test_declares_its_concurrency_and_flush(self):
        backend = self.make_backend()
        cap = backend.max_concurrency
        assert cap is None or (isinstance(cap, int) and cap >= 1)
        assert backend.flush() is None

    def test_response_and_usage_fields(self):
        response = self.make_backend().complete(REQUEST)
        assert isinstance(response, LLMResponse) and isinstance(response.text, str)
        for name in ("input_tokens", "output_tokens"):
            value = getattr(response, name)
            assert isinstance(value, int) and value >= 0, (name, value)
        assert response.latency_s >= 0 and response.cost_usd >= 0 and isinstance(response.stop_reason, str)
        assert response.cached is False

    def test_concurrent_calls(self):
        backend = self.make_backend()
        requests = [LLMRequest(messages=(("user", f"{i} + 1"),), max_tokens=8, sample_index=i)
                    for i in range(self.concurrent_calls * 2)]
        with ThreadPoolExecutor(self.concurrent_calls) as pool:
            responses = list(pool.map(backend.complete, requests))
        assert len(responses) == len(requests) and all(isinstance(r.text, str) for r in responses)

    @pytest.mark.parametrize("kind,retryable", [("retryable", True), ("fatal", False)])
    def test_errors_are_mapped(self, kind, retryable):
        backend = self.make_failing_backend(kind)
        if backend is None:
            pytest.skip(f"this backend cannot be made to show a {kind} error")
        with pytest.raises(BackendError) as info:
            backend.complete(REQUEST)
        assert info.value.retryable is retryable
