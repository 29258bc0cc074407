"""``OpenAICompatibleBackend``: any server with an OpenAI-style ``/chat/completions`` endpoint (OpenAI,
Ollama, vLLM, llama.cpp server), called through the official ``openai`` SDK with ``base_url`` (the only
module importing it).

- Retries are the SDK's own: ``max_retries`` times on connection errors, timeouts, 408/409/429 and
  5xx, with exponential backoff (0.5 s doubling to 8 s) unless the server's ``retry-after`` /
  ``retry-after-ms`` says otherwise; then ``BackendError`` (retryable). Other statuses fail at once.
- The body is parsed here, not by the SDK's models, so a malformed answer (a non-JSON body, content
  that is a number or an object) is a clear ``BackendError`` instead of a crash or a silent coercion.
- The key comes from ``api_key_env`` when set (servers without auth get a placeholder).
"""
from __future__ import annotations

import json
import os
import time

import openai

from evo.errors import BackendError
from evo.redact import register_secret
from evo.llm.base import BackendBase, LLMRequest, LLMResponse, retry_after


class OpenAICompatibleBackend(BackendBase):
    max_concurrency = None

    def __init__(self, base_url: str, model: str, *, api_key_env: str | None = None,
                 timeout_s: float = 60.0, max_retries: int = 2):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max_retries
        self.fingerprint = f"openai_compatible:{self.base_url}:{model}"
        key = os.environ.get(api_key_env) if api_key_env else None
        register_secret(key)  # an error body that echoes it is redacted before it is stored anywhere
        self._client = openai.OpenAI(base_url=self.base_url, api_key=key or "not-needed", max_retries=max_retries,
                                     timeout=timeout_s)

    def complete(self, request: LLMRequest) -> LLMResponse:
        messages = ([{"role": "system", "content": request.system}] if request.system else [])
        messages += [{"role": r, "content": c} for r, c in request.messages]
        extra = {"stop": list(request.stop)} if request.stop else {}
        if request.json_schema:  # structured output (OpenAI's response_format; llama.cpp and vLLM servers too)
            extra["response_format"] = {"type": "json_schema",
                                        "json_schema": {"name": "reply", "schema": json.loads(request.json_schema)}}
        start = time.perf_counter()
        try:
            raw = self._client.chat.completions.with_raw_response.create(
                model=request.model or self.model, messages=messages, temperature=request.temperature,
                max_tokens=request.max_tokens, seed=request.effective_seed, **extra)
        except openai.APITimeoutError:
            raise BackendError(f"{self.base_url}: request timed out (after {self.max_retries} retries)",
                               retryable=True) from None
        except openai.APIConnectionError as exc:
            raise BackendError(f"{self.base_url}: connection failed: {exc} (after {self.max_retries} retries)",
                               retryable=True) from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            retryable = status in (408, 409, 429) or status >= 500
            text = exc.response.text[:200] if exc.response is not None else str(exc)
            raise BackendError(f"{self.base_url}: HTTP {status}: {text}" +
                               (f" (after {self.max_retries} retries)" if retryable else ""),
                               retryable=retryable, status=status, retry_after_s=retry_after(exc.response)) from None
        return self._parse(raw.http_response.content, time.perf_counter() - start)

    def _parse(self, body: bytes, latency: float) -> LLMResponse:
        try:
            data = json.loads(body)
            choice = data["choices"][0]
            text = message_text(choice["message"].get("content"))
            usage = data.get("usage") or {}
            input_tokens, output_tokens = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise BackendError(f"{self.base_url}: malformed response ({type(exc).__name__}: {exc})") from None
        return LLMResponse(text=text, input_tokens=input_tokens, output_tokens=output_tokens, latency_s=latency,
                           stop_reason=str(choice.get("finish_reason") or "stop"))


def message_text(content) -> str:
    """The text of a chat message's ``content``: a string, ``None`` (no text), or a list of parts whose
    ``text`` parts are joined. Anything else (a number, an object) is malformed: ``TypeError``."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        texts = [p.get("text") for p in content if p.get("type", "text") == "text"]
        if all(isinstance(t, str) for t in texts):
            return "".join(texts)
    raise TypeError(f"message content is {type(content).__name__}, not text")
