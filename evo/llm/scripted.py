"""``ScriptedBackend``: a deterministic, in-process backend for tests and benchmarks.

It answers from a responder function, a mapping from the last user message (or, failing that, the
message's last line: the rendered input after any instruction) to a reply, or a fixed default. With ``strict=True`` an unseen prompt raises ``KeyError`` loudly instead of answering, so
tests fail when the prompts they exercise change. ``latency_s`` simulates a slow model with a real
sleep. ``fail_on`` makes chosen prompts raise ``BackendError`` to exercise failure handling.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Mapping

from evo.errors import BackendError
from evo.llm.base import BackendBase, LLMRequest, LLMResponse


class ScriptedBackend(BackendBase):
    max_concurrency = None

    def __init__(
        self,
        responder: Callable[[LLMRequest], str] | Mapping[str, str] | None = None,
        *,
        default: str | None = "",
        strict: bool = False,
        latency_s: float = 0.0,
        fail_on: Callable[[LLMRequest], bool] | None = None,
        name: str = "scripted",
    ):
        self._responder = responder
        self._default = default
        self._strict = strict
        self._latency_s = latency_s
        self._fail_on = fail_on
        self.fingerprint = f"scripted:{name}"
        self.calls = 0
        self.requests: list[LLMRequest] = []
        self._lock = threading.Lock()

    def _answer(self, request: LLMRequest) -> str:
        if callable(self._responder):
            return self._responder(request)
        last_user = next((c for r, c in reversed(request.messages) if r == "user"), "")
        if self._responder is not None:
            for key in (last_user, last_user.rsplit("\n", 1)[-1]):
                if key in self._responder:
                    return self._responder[key]
        if self._strict or self._default is None:
            raise KeyError(f"ScriptedBackend has no reply for prompt {last_user[:80]!r}")
        return self._default

    def complete(self, request: LLMRequest) -> LLMResponse:
        with self._lock:
            self.calls += 1
            self.requests.append(request)
        if self._latency_s:
            time.sleep(self._latency_s)
        if self._fail_on is not None and self._fail_on(request):
            raise BackendError("scripted failure", retryable=False)
        text = self._answer(request)
        n_in = request.prompt_chars() // 4 + 1
        return LLMResponse(text=text, input_tokens=n_in, output_tokens=len(text) // 4 + 1,
                           latency_s=self._latency_s)
