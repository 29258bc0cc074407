"""``AnthropicBackend``: Claude through the official ``anthropic`` SDK (the only module importing it).

Retries and timeouts are the SDK's own (``max_retries`` on 408/409/429/5xx, honoring retry-after).
Long static system prompts are sent with ``cache_control`` so repeated calls read them from the
prompt cache. Usage (including cache reads/writes) becomes tokens and USD via ``evo.llm.pricing``.
``base_url`` points the SDK at any server that speaks the Messages API (tests use a local one).

Sampling: the Messages API of SDK 2.x takes no ``temperature``; the genome's temperature is not sent
unless ``send_temperature`` is set (then via ``extra_body``, for servers that still accept it).
Repeated samples stay distinct in the cache through ``LLMRequest.sample_index``.
"""
from __future__ import annotations

import os
import time

import anthropic

from evo.errors import BackendError, ConfigError
from evo.llm.base import BackendBase, LLMRequest, LLMResponse
from evo.llm.pricing import cost_usd

DEFAULT_OPTIMIZER_MODEL = "claude-opus-4-5"
CACHE_MIN_SYSTEM_CHARS = 4000  # ~1024 tokens: the smallest prefix the API will cache


class AnthropicBackend(BackendBase):
    max_concurrency = None

    def __init__(self, model: str = DEFAULT_OPTIMIZER_MODEL, *, api_key: str | None = None,
                 api_key_env: str = "ANTHROPIC_API_KEY", base_url: str | None = None,
                 max_retries: int = 2, timeout_s: float = 60.0, cache_system_prompt: bool = True,
                 send_temperature: bool = False):
        key = api_key or os.environ.get(api_key_env)
        if not key:
            raise ConfigError(api_key_env, "no Anthropic API key: set this environment variable")
        self.model = model
        self.cache_system_prompt = cache_system_prompt
        self.send_temperature = send_temperature
        self.fingerprint = f"anthropic:{model}"
        self._client = anthropic.Anthropic(api_key=key, base_url=base_url, max_retries=max_retries,
                                           timeout=timeout_s)

    def _system(self, text: str):
        if not text:
            return anthropic.NOT_GIVEN
        if self.cache_system_prompt and len(text) >= CACHE_MIN_SYSTEM_CHARS:
            return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]
        return text

    def complete(self, request: LLMRequest) -> LLMResponse:
        model = request.model or self.model
        stops = [s for s in request.stop if s.strip()]
        start = time.perf_counter()
        try:
            msg = self._client.messages.create(
                model=model,
                system=self._system(request.system),
                messages=[{"role": r, "content": c} for r, c in request.messages],
                max_tokens=request.max_tokens,
                stop_sequences=stops or anthropic.NOT_GIVEN,
                extra_body={"temperature": min(1.0, request.temperature)} if self.send_temperature else None,
            )
        except anthropic.APITimeoutError:
            raise BackendError(f"anthropic {model}: request timed out after retries", retryable=True) from None
        except anthropic.APIConnectionError as exc:
            raise BackendError(f"anthropic {model}: connection failed: {exc}", retryable=True) from None
        except anthropic.APIStatusError as exc:
            retryable = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            raise BackendError(f"anthropic {model}: HTTP {exc.status_code}: {_error_message(exc)}",
                               retryable=retryable, status=exc.status_code) from None
        latency = time.perf_counter() - start
        text = "".join(getattr(b, "text", "") for b in msg.content if getattr(b, "type", "") == "text")
        u = msg.usage
        cache_write = getattr(u, "cache_creation_input_tokens", 0) or 0
        cache_read = getattr(u, "cache_read_input_tokens", 0) or 0
        return LLMResponse(
            text=text,
            input_tokens=u.input_tokens + cache_write + cache_read,
            output_tokens=u.output_tokens,
            latency_s=latency,
            stop_reason=msg.stop_reason or "end_turn",
            cost_usd=cost_usd(model, u.input_tokens, u.output_tokens, cache_write, cache_read),
            extra={"cache_read_tokens": cache_read, "cache_write_tokens": cache_write},
        )


def _error_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(getattr(exc, "message", exc))
