"""The backend protocol and its value types.

Contract for every ``LLMBackend``:
- ``complete(request)`` returns an ``LLMResponse`` or raises ``evo.errors.BackendError`` (after the
  backend's own retries); it never returns partial garbage silently: whatever text the model gave is
  returned and judged by the checks.
- ``complete`` is safe to call from several threads; a backend that cannot run calls concurrently
  serializes internally and says so with ``max_concurrency``.
- ``flush()`` writes out anything buffered (``BackendBase`` gives the no-op and ``max_concurrency = None``).
- ``fingerprint`` identifies everything besides the request that changes the output (backend kind,
  model file or name); the response cache keys on (fingerprint, request). A backend whose output
  also depends on something a request selects (another local model by name, and that model's chat
  format) refines it per request with ``fingerprint_for(request)`` (see :func:`request_fingerprint`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Message = tuple[str, str]  # (role, content), role in {"user", "assistant"}


@dataclass(frozen=True, slots=True)
class LLMRequest:
    """An immutable, canonically hashable chat request.

    ``sample_index`` distinguishes repeated samples of the same request (robustness estimates,
    several candidates at temperature > 0); backends that accept a seed derive it from
    ``seed`` and ``sample_index``.
    """

    messages: tuple[Message, ...]
    system: str = ""
    model: str = ""
    temperature: float = 0.0
    max_tokens: int = 64
    stop: tuple[str, ...] = ()
    seed: int = 0
    sample_index: int = 0
    json_schema: str = ""  # a JSON Schema (as JSON text) the reply must follow; "": free text

    def canonical(self) -> str:
        fields = [self.model, self.system, self.messages, self.temperature, self.max_tokens,
                  self.stop, self.seed, self.sample_index]
        if self.json_schema:  # only then: the keys of free-text requests stay what they always were
            fields.append(self.json_schema)
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)

    def key(self, fingerprint: str = "") -> str:
        """Stable cache key: blake2b of the backend fingerprint and the canonical request."""
        h = hashlib.blake2b(digest_size=16)
        h.update(fingerprint.encode())
        h.update(b"\x00")
        h.update(self.canonical().encode())
        return h.hexdigest()

    @property
    def effective_seed(self) -> int:
        return (self.seed * 1_000_003 + self.sample_index) % (2**31 - 1)

    def prompt_chars(self) -> int:
        return len(self.system) + sum(len(c) for _, c in self.messages)


@dataclass(frozen=True, slots=True)
class LLMResponse:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_s: float = 0.0
    stop_reason: str = "stop"
    cost_usd: float = 0.0
    cached: bool = False
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "text": self.text, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "latency_s": self.latency_s, "stop_reason": self.stop_reason, "cost_usd": self.cost_usd,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict, cached: bool = False) -> "LLMResponse":
        return cls(
            text=data["text"], input_tokens=data.get("input_tokens", 0),
            output_tokens=data.get("output_tokens", 0), latency_s=data.get("latency_s", 0.0),
            stop_reason=data.get("stop_reason", "stop"), cost_usd=data.get("cost_usd", 0.0),
            cached=cached, extra=data.get("extra", {}),
        )


@runtime_checkable
class LLMBackend(Protocol):
    fingerprint: str
    max_concurrency: int | None  # None: no limit of its own

    def complete(self, request: LLMRequest) -> LLMResponse: ...

    def flush(self) -> None:
        """Write out anything buffered (the response cache); called after every batch and at close."""


def request_fingerprint(backend, request: LLMRequest) -> str:
    """The fingerprint ``request``'s cache key uses: ``backend.fingerprint_for(request)`` where the
    backend (or what it wraps) refines it per request, else ``backend.fingerprint``."""
    refine = getattr(backend, "fingerprint_for", None)
    return refine(request) if callable(refine) else backend.fingerprint


class BackendBase:
    """Defaults of the protocol for concrete backends: no concurrency limit, nothing to flush."""

    max_concurrency: int | None = None

    def flush(self) -> None:
        """Nothing buffered."""


def retry_after(response) -> float | None:
    """Seconds from a response's ``retry-after-ms`` or ``retry-after`` header (None when absent)."""
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        try:
            return max(0.0, float(value) * scale) if value is not None else None
        except ValueError:
            continue
    return None
