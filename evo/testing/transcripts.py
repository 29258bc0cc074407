"""``TranscriptBackend``: record an LLM's answers to a JSON transcript, or replay them strictly.

Recording (``inner`` given): every request is answered by ``inner`` and stored under the request's
canonical key. Replaying (no ``inner``): a stored request gets its recorded response (latency and
usage included); an unseen one is appended to ``unseen`` and raises a non-retryable ``BackendError``
— tests assert ``unseen == []``, so a behaviour change that asks anything new fails loudly. No model
is ever called while replaying. Follows GEPA's recorded-transcript tests.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

from evo.errors import BackendError
from evo.llm.base import BackendBase, LLMRequest, LLMResponse

TRANSCRIPT_VERSION = 1


class TranscriptBackend(BackendBase):
    def __init__(self, path: str | Path, inner=None):
        self.path = Path(path)
        self.inner = inner
        self.unseen: list[str] = []
        self.calls = 0
        self._lock = threading.Lock()
        if inner is not None:
            self.responses: dict[str, dict] = {}
            self.fingerprint = inner.fingerprint
            self.max_concurrency = inner.max_concurrency
        else:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("schema_version") != TRANSCRIPT_VERSION:
                raise BackendError(f"{self.path}: transcript of another version")
            self.responses, self.fingerprint = data["responses"], data["fingerprint"]

    @property
    def recording(self) -> bool:
        return self.inner is not None

    def complete(self, request: LLMRequest) -> LLMResponse:
        key = request.key()
        with self._lock:
            self.calls += 1
        if self.recording:
            response = self.inner.complete(request)
            with self._lock:
                self.responses[key] = response.to_json()
            return response
        stored = self.responses.get(key)
        if stored is None:
            with self._lock:
                self.unseen.append(request.canonical()[:300])
            raise BackendError(f"request not in transcript {self.path.name} (re-record with RECORD_LLM=1)")
        return LLMResponse.from_json(stored)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"schema_version": TRANSCRIPT_VERSION, "fingerprint": self.fingerprint,
                "responses": dict(sorted(self.responses.items()))}
        self.path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
