"""Backend configuration (pydantic, discriminated on ``kind``) and ``build_backend``.

YAML example::

    kind: anthropic
    model: claude-opus-4-5
    base_url: null          # any Messages-API server
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, TypeAdapter
from evo.registry import Entry, Registry
from evo.config_base import StrictConfig, validate_config


class BackendConfigBase(StrictConfig):
    """What the rest of evo may ask of a backend kind, so nothing outside this family tests kinds by name.

    ``in_process``: the model runs inside the evaluating process (Ray places it in node-pinned actors;
    the optimizer gets compact meta-prompts); ``metered``: an API that charges per token (cost
    estimates need its price); ``cli_choice``: offered by ``evo eval --backend``. Override
    ``with_threads`` and ``token_counter`` where they mean something."""

    in_process: ClassVar[bool] = False
    metered: ClassVar[bool] = False
    cli_choice: ClassVar[bool] = True

    def with_threads(self, threads: int) -> "BackendConfigBase":
        """This config for a worker that has ``threads`` CPU threads to itself."""
        return self

    def token_counter(self):
        """A request -> input tokens function measured by the provider, or None (count characters)."""
        return None


class LocalConfig(BackendConfigBase):
    in_process: ClassVar[bool] = True
    kind: Literal["local"] = "local"
    model_path: str | None = None  # None: the embedded SmolLM2-135M-Instruct
    n_ctx: int = Field(2048, ge=256)
    n_threads: int | None = Field(None, ge=1, description="CPU threads; unset: $EVO_LOCAL_THREADS, else one per core "
                                                           "other processes leave free, checked before each call")
    n_threads_batch: int | None = Field(None, ge=1)

    def with_threads(self, threads: int) -> "LocalConfig":
        return self.model_copy(update={"n_threads": self.n_threads or threads,
                                       "n_threads_batch": self.n_threads_batch or threads})


ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"  # an environment variable's name; a pasted key never matches


class AnthropicConfig(BackendConfigBase):
    metered: ClassVar[bool] = True
    kind: Literal["anthropic"]
    model: str = "claude-opus-4-5"
    api_key_env: str = Field("ANTHROPIC_API_KEY", pattern=ENV_NAME, description="name of the environment "
                             "variable holding the key (never the key itself)")
    base_url: str | None = None
    max_retries: int = Field(2, ge=0)
    timeout_s: float = Field(60.0, gt=0)
    cache_system_prompt: bool = Field(True, description="cache the static prefix (system + demos) when it reaches "
                                      "the model's minimum cacheable length")
    send_temperature: bool = False
    thinking_budget_tokens: int | None = Field(None, ge=1024, description="extended thinking (optimizer): "
                                               "tokens the model may think before answering")
    batch_poll_s: float = Field(10.0, gt=0, description="seconds between polls of a Message Batch")

    def token_counter(self):
        """The Messages API's token counting, when the SDK and a key are there; None otherwise."""
        try:
            backend = build_backend(self)
        except Exception:  # noqa: BLE001 - no key or SDK: fall back to characters
            return None
        return backend.count_tokens


class OpenAICompatibleConfig(BackendConfigBase):
    metered: ClassVar[bool] = True
    kind: Literal["openai_compatible"]
    base_url: str
    model: str
    api_key_env: str | None = Field(None, pattern=ENV_NAME, description="name of the environment variable "
                                    "holding the key (never the key itself)")
    max_retries: int = Field(2, ge=0)
    timeout_s: float = Field(60.0, gt=0)


class ScriptedConfig(BackendConfigBase):
    cli_choice: ClassVar[bool] = False  # for tests and configs, not the command line
    kind: Literal["scripted"]
    responses: dict[str, str] = {}
    default: str | None = ""
    latency_s: float = Field(0.0, ge=0)


def _local(cfg):
    from evo.llm.local import LocalBackend

    return LocalBackend(cfg.model_path, n_ctx=cfg.n_ctx, n_threads=cfg.n_threads, n_threads_batch=cfg.n_threads_batch)


def _anthropic(cfg):
    from evo.llm.anthropic_backend import AnthropicBackend

    return AnthropicBackend(cfg.model, api_key_env=cfg.api_key_env, base_url=cfg.base_url,
                            max_retries=cfg.max_retries, timeout_s=cfg.timeout_s,
                            cache_system_prompt=cfg.cache_system_prompt, send_temperature=cfg.send_temperature,
                            thinking_budget_tokens=cfg.thinking_budget_tokens, batch_poll_s=cfg.batch_poll_s)


def _openai_compatible(cfg):
    from evo.llm.openai_compat import OpenAICompatibleBackend

    return OpenAICompatibleBackend(cfg.base_url, cfg.model, api_key_env=cfg.api_key_env, timeout_s=cfg.timeout_s,
                                   max_retries=cfg.max_retries)


def _scripted(cfg):
    from evo.llm.scripted import ScriptedBackend

    return ScriptedBackend(cfg.responses, default=cfg.default, latency_s=cfg.latency_s)


# Adding a backend = its module + ``BACKENDS.register(kind, Entry(config, build))``, here or from any code
# (or an ``evo.backends`` entry point: ``evo.registry``); CLI choices and the config type derive from it.
BACKENDS = Registry("backends", base=BackendConfigBase, entries={
    "local": Entry(LocalConfig, _local),
    "anthropic": Entry(AnthropicConfig, _anthropic),
    "openai_compatible": Entry(OpenAICompatibleConfig, _openai_compatible),
    "scripted": Entry(ScriptedConfig, _scripted),
})

BackendConfig = BACKENDS.config_type
_ADAPTER = TypeAdapter(BackendConfig)


def parse_backend_config(data: dict, source: str | Path | None = None):
    return validate_config(_ADAPTER, data, source)


def build_backend(cfg):
    """An ``LLMBackend`` from a validated config. Heavy SDKs are imported only for their kind."""
    return BACKENDS[cfg.kind].build(cfg)
