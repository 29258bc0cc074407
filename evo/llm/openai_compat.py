"""``OpenAICompatibleBackend``: any server with an OpenAI-style ``/chat/completions`` endpoint
(Ollama, vLLM, llama.cpp server), called with httpx.

Retries ``max_retries`` times on 408/409/429/5xx and on timeouts, with exponential backoff that
honors ``Retry-After``; then raises ``BackendError``.
"""
from __future__ import annotations

import os
import time

import httpx

from evo.errors import BackendError
from evo.llm.base import BackendBase, LLMRequest, LLMResponse

_RETRY_STATUS = {408, 409, 429}


class OpenAICompatibleBackend(BackendBase):
    max_concurrency = None

    def __init__(self, base_url: str, model: str, *, api_key_env: str | None = None,
                 timeout_s: float = 60.0, max_retries: int = 2, backoff_s: float = 0.5):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.fingerprint = f"openai_compatible:{self.base_url}:{model}"
        headers = {}
        if api_key_env and os.environ.get(api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[api_key_env]}"
        self._client = httpx.Client(timeout=timeout_s, headers=headers)

    def complete(self, request: LLMRequest) -> LLMResponse:
        messages = ([{"role": "system", "content": request.system}] if request.system else [])
        messages += [{"role": r, "content": c} for r, c in request.messages]
        body = {
            "model": request.model or self.model, "messages": messages,
            "temperature": request.temperature, "max_tokens": request.max_tokens,
            "seed": request.effective_seed,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        start = time.perf_counter()
        last = "no attempt made"
        for attempt in range(self.max_retries + 1):
            delay = self.backoff_s * (2 ** attempt)
            try:
                resp = self._client.post(f"{self.base_url}/chat/completions", json=body)
            except httpx.TimeoutException:
                last = "request timed out"
            except httpx.HTTPError as exc:
                last = f"connection failed: {exc}"
            else:
                if resp.status_code == 200:
                    return self._parse(resp, time.perf_counter() - start)
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                if resp.status_code not in _RETRY_STATUS and resp.status_code < 500:
                    raise BackendError(f"{self.base_url}: {last}", status=resp.status_code)
                retry_after = resp.headers.get("retry-after")
                if retry_after and retry_after.replace(".", "", 1).isdigit():
                    delay = min(float(retry_after), 60.0)
            if attempt < self.max_retries:
                time.sleep(delay)
        raise BackendError(f"{self.base_url}: {last} (after {self.max_retries} retries)", retryable=True)

    def _parse(self, resp: httpx.Response, latency: float) -> LLMResponse:
        try:
            data = resp.json()
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
