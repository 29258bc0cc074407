"""``AnthropicBackend``: Claude through the official ``anthropic`` SDK (the only module importing it).

- Retries and timeouts are the SDK's own (``max_retries`` on 408/409/429/5xx, honoring retry-after).
- Prompt caching: the static prefix of a request (system text plus the few-shot demo turns, i.e.
  everything before the final user turn) gets a ``cache_control`` breakpoint when it reaches the
  model's documented minimum cacheable length, measured with the token-counting endpoint
  (``messages.count_tokens``, once per distinct prefix; a prefix with fewer characters than the
  minimum cannot reach it and is not counted). Usage, including cache reads and writes, becomes
  tokens and USD via ``evo.llm.pricing``.
- ``count_tokens(request)`` gives a request's exact input tokens (estimates and budgets).
- ``complete_batch(requests)`` sends many requests through the Message Batches API (half price),
  polls until the batch ends and returns, in request order, an ``LLMResponse`` or a ``BackendError``
  per request (a partially failed batch fails only its own requests).
- ``thinking_budget_tokens`` turns on extended thinking (for the optimizer): the budget is added to
  ``max_tokens`` and only the final text blocks are returned.
- ``base_url`` points the SDK at any server that speaks the Messages API (tests use a local one).

Sampling: the Messages API of SDK 2.x takes no ``temperature``; the genome's temperature is not sent
unless ``send_temperature`` is set (then via ``extra_body``, for servers that still accept it).
Repeated samples stay distinct in the cache through ``LLMRequest.sample_index``.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time

import anthropic

from evo.errors import BackendError, ConfigError
from evo.redact import register_secret
from evo.llm.base import BackendBase, LLMRequest, LLMResponse, retry_after
from evo.llm.pricing import cost_usd

DEFAULT_OPTIMIZER_MODEL = "claude-opus-4-5"
# Documented minimum cacheable prefix per model family (tokens); the first matching prefix wins.
CACHE_MIN_TOKENS = (("claude-opus-4-5", 4096), ("claude-opus-4-6", 4096), ("claude-haiku-4-5", 4096),
                    ("claude-sonnet-4-6", 2048), ("claude-3-5-haiku", 2048), ("claude-3-haiku", 2048),
                    ("claude-haiku-3", 2048))
DEFAULT_CACHE_MIN_TOKENS = 1024  # Sonnet 4.5 / 4 / 3.7, Opus 4.1 / 4
BATCH_DISCOUNT = 0.5  # Message Batches cost half the standard price


def cache_min_tokens(model: str) -> int:
    for prefix, tokens in CACHE_MIN_TOKENS:
        if model.startswith(prefix):
            return tokens
    return DEFAULT_CACHE_MIN_TOKENS


class AnthropicBackend(BackendBase):
    max_concurrency = None
    supports_batch = True

    def __init__(self, model: str = DEFAULT_OPTIMIZER_MODEL, *, api_key: str | None = None,
                 api_key_env: str = "ANTHROPIC_API_KEY", base_url: str | None = None,
                 max_retries: int = 2, timeout_s: float = 60.0, cache_system_prompt: bool = True,
                 send_temperature: bool = False, thinking_budget_tokens: int | None = None,
                 batch_poll_s: float = 10.0):
        key = api_key or os.environ.get(api_key_env)
        register_secret(key)  # an error body that echoes it is redacted before it is stored anywhere
        if not key:
            raise ConfigError(api_key_env, "no Anthropic API key: set this environment variable")
        self.model = model
        self.cache_system_prompt = cache_system_prompt
        self.send_temperature = send_temperature
        self.thinking_budget_tokens = thinking_budget_tokens
        self.batch_poll_s = batch_poll_s
        self.fingerprint = f"anthropic:{model}" + (f":thinking{thinking_budget_tokens}" if thinking_budget_tokens else "")
        self._client = anthropic.Anthropic(api_key=key, base_url=base_url, max_retries=max_retries,
                                           timeout=timeout_s)
        self._prefix_tokens: dict[str, int] = {}
        self._lock = threading.Lock()

    # ---- tokens and the cacheable prefix ---------------------------------------------------------
    def count_tokens(self, request: LLMRequest) -> int:
        """The request's input tokens, from the API's token-counting endpoint."""
        model = request.model or self.model
        try:
            return self._client.messages.count_tokens(
                model=model, system=request.system or anthropic.NOT_GIVEN,
                messages=[{"role": r, "content": c} for r, c in request.messages]).input_tokens
        except anthropic.APIError as exc:
            raise _backend_error(model, exc) from None

    def _cacheable(self, model: str, system: str, prefix: list[tuple[str, str]]) -> bool:
        """Whether system + ``prefix`` turns reach the model's minimum cacheable length."""
        minimum = cache_min_tokens(model)
        if len(system) + sum(len(c) for _, c in prefix) < minimum:  # a token covers at least one character
            return False
        key = hashlib.blake2b(repr((model, system, prefix)).encode(), digest_size=16).hexdigest()
        with self._lock:
            known = self._prefix_tokens.get(key)
        if known is None:
            probe = LLMRequest(messages=tuple(prefix) or (("user", "."),), system=system, model=model)
            try:
                known = self.count_tokens(probe)
            except BackendError:  # no token counting here: estimate (about four characters a token)
                known = (len(system) + sum(len(c) for _, c in prefix)) // 4
            with self._lock:
                self._prefix_tokens[key] = known
        return known >= minimum

    def _params(self, request: LLMRequest) -> dict:
        """The Messages API parameters of ``request`` (shared by single calls and batches)."""
        model = request.model or self.model
        turns = [{"role": r, "content": c} for r, c in request.messages]
        system = request.system or anthropic.NOT_GIVEN
        prefix = list(request.messages[:-1])
        if self.cache_system_prompt and (request.system or prefix) and self._cacheable(model, request.system, prefix):
            breakpoint_ = {"type": "ephemeral"}
            if prefix:  # the breakpoint after the last demo turn caches system + demos
                last = turns[len(prefix) - 1]
                last["content"] = [{"type": "text", "text": last["content"], "cache_control": breakpoint_}]
            else:
                system = [{"type": "text", "text": request.system, "cache_control": breakpoint_}]
        params = {"model": model, "system": system, "messages": turns, "max_tokens": request.max_tokens}
        stops = [s for s in request.stop if s.strip()]
        if stops:
            params["stop_sequences"] = stops
        if self.thinking_budget_tokens:
            params["thinking"] = {"type": "enabled", "budget_tokens": self.thinking_budget_tokens}
            params["max_tokens"] = request.max_tokens + self.thinking_budget_tokens
        elif self.send_temperature:
            params["extra_body"] = {"temperature": min(1.0, request.temperature)}
        return params

    # ---- calls -----------------------------------------------------------------------------------
    def complete(self, request: LLMRequest) -> LLMResponse:
        params = self._params(request)
        start = time.perf_counter()
        try:
            msg = self._client.messages.create(**params)
        except anthropic.APIError as exc:
            raise _backend_error(params["model"], exc) from None
        return _response(msg, params["model"], time.perf_counter() - start)

    def complete_batch(self, requests: list[LLMRequest]) -> list[LLMResponse | BackendError]:
        """Send ``requests`` as one Message Batch, wait for it to end, and return one outcome per
        request in order. Raises ``BackendError`` only when the batch itself cannot be created or read."""
        if not requests:
            return []
        entries = []
        for i, request in enumerate(requests):
            params = self._params(request)
            params.pop("extra_body", None)
            entries.append({"custom_id": f"r{i}", "params": {k: v for k, v in params.items()
                                                             if v is not anthropic.NOT_GIVEN}})
        start = time.perf_counter()
        try:
            batch = self._client.messages.batches.create(requests=entries)
            while batch.processing_status != "ended":
                time.sleep(self.batch_poll_s)
                batch = self._client.messages.batches.retrieve(batch.id)
            results = {r.custom_id: r.result for r in self._client.messages.batches.results(batch.id)}
        except anthropic.APIError as exc:
            raise _backend_error(self.model, exc) from None
        latency = (time.perf_counter() - start) / len(requests)
        out: list[LLMResponse | BackendError] = []
        for entry in entries:
            result = results.get(entry["custom_id"])
            model = entry["params"]["model"]
            if result is None:
                out.append(BackendError(f"anthropic batch {batch.id}: no result for {entry['custom_id']}",
                                        retryable=True))
            elif result.type == "succeeded":
                out.append(_response(result.message, model, latency, price_factor=BATCH_DISCOUNT, batch_id=batch.id))
            elif result.type == "errored":
                error = getattr(result.error, "error", result.error)
                kind, message = getattr(error, "type", "error"), getattr(error, "message", str(error))
                out.append(BackendError(f"anthropic {model} (batch {batch.id}): {kind}: {message}",
                                        retryable=kind in ("overloaded_error", "api_error", "rate_limit_error")))
            else:  # canceled or expired
                out.append(BackendError(f"anthropic {model} (batch {batch.id}): request {result.type}", retryable=True))
        return out


def _response(msg, model: str, latency: float, *, price_factor: float = 1.0, batch_id: str | None = None) -> LLMResponse:
    text = "".join(getattr(b, "text", "") for b in msg.content if getattr(b, "type", "") == "text")
    u = msg.usage
    cache_write = getattr(u, "cache_creation_input_tokens", 0) or 0
    cache_read = getattr(u, "cache_read_input_tokens", 0) or 0
    extra = {"cache_read_tokens": cache_read, "cache_write_tokens": cache_write}
    if batch_id:
        extra["batch_id"] = batch_id
    return LLMResponse(
        text=text,
        input_tokens=u.input_tokens + cache_write + cache_read,
        output_tokens=u.output_tokens,
        latency_s=latency,
        stop_reason=msg.stop_reason or "end_turn",
        cost_usd=price_factor * cost_usd(model, u.input_tokens, u.output_tokens, cache_write, cache_read),
        extra=extra,
    )


def _backend_error(model: str, exc: Exception) -> BackendError:
    if isinstance(exc, anthropic.APITimeoutError):
        return BackendError(f"anthropic {model}: request timed out after retries", retryable=True)
    if isinstance(exc, anthropic.APIConnectionError):
        return BackendError(f"anthropic {model}: connection failed: {exc}", retryable=True)
    if isinstance(exc, anthropic.APIStatusError):
        retryable = exc.status_code in (408, 409, 429) or exc.status_code >= 500
        return BackendError(f"anthropic {model}: HTTP {exc.status_code}: {_error_message(exc)}",
                            retryable=retryable, status=exc.status_code, retry_after_s=retry_after(exc.response))
    return BackendError(f"anthropic {model}: {type(exc).__name__}: {exc}", retryable=False)


def _error_message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(getattr(exc, "message", exc))
