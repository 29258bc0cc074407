"""``resolve``: a ``RunSpec`` as written -> the ``ResolvedRun`` that is logged and run.

Resolution is pure given its inputs (the spec, the environment mapping, the default cache path) and
applies every default before anything runs:
- the optimizer: Claude Opus when ``ANTHROPIC_API_KEY`` is in ``env``, else the embedded local model;
- the strategy's optimizer-dependent settings (compact meta-prompts for a local optimizer, ...);
- the response cache file (an absolute path, or ``False``);
- the suite (an absolute path when it names a file; a built-in name stays a name).

A ``ResolvedRun`` is a ``RunSpec`` with nothing left implicit: its ``model_dump()`` is a valid run
config, and feeding it back (``evo optimize --config resolved.yaml``) resolves to itself, so the
file that was logged reproduces the run. Strategies receive resolved configs and never rewrite them.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Mapping

from pydantic import ConfigDict

from evo.errors import ConfigError
from evo.llm.config import AnthropicConfig, BackendConfig, LocalConfig
from evo.run.spec import RunSpec

RESOLVED_SCHEMA_VERSION = 1
DEFAULT_CACHE = ".evo/cache.sqlite"


def default_optimizer_config(env: Mapping[str, str]):
    """Claude Opus when an Anthropic key is set, the embedded local model otherwise."""
    if env.get("ANTHROPIC_API_KEY"):
        return AnthropicConfig(kind="anthropic")
    return LocalConfig()


def default_cache_path(env: Mapping[str, str]) -> Path:
    """``$EVO_CACHE`` or ``.evo/cache.sqlite`` (the default of ``evo eval`` and ``evo optimize``)."""
    return Path(env.get("EVO_CACHE") or DEFAULT_CACHE)


def config_sha256(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def resolve_suite_ref(suite: str) -> str:
    """An absolute path for a suite file; a built-in suite's name as it is."""
    path = Path(suite)
    return str(path.resolve()) if path.is_file() else suite


def resolve_cache(cache: bool | str, default: Path) -> bool | str:
    if cache is False:
        return False
    return str(Path(default if cache is True else cache).resolve())


class ResolvedRun(RunSpec):
    """A ``RunSpec`` with every default applied (frozen). ``sha256()`` identifies the run's config."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    suite: str
    optimizer: BackendConfig

    def sha256(self) -> str:
        return config_sha256(self.model_dump(mode="json"))

    @property
    def cache_path(self) -> str | None:
        return self.cache if isinstance(self.cache, str) else None


def resolve(spec: RunSpec, *, suite: str | None = None, env: Mapping[str, str] | None = None,
            default_cache: Path | None = None) -> ResolvedRun:
    """``spec`` with every default applied. ``suite`` is used when the spec names none; ``env``
    defaults to ``os.environ`` (read here and nowhere else); ``default_cache`` is the cache file for
    ``cache: true`` (default: ``default_cache_path(env)``)."""
    env = os.environ if env is None else env
    suite_ref = spec.suite or suite
    if not suite_ref:
        raise ConfigError("run config", "no suite: name one on the command line or as `suite:` in the config", "suite")
    optimizer = spec.optimizer or default_optimizer_config(env)
    data = spec.model_dump(mode="python")
    data.update(suite=resolve_suite_ref(str(suite_ref)), optimizer=optimizer,
                strategy=spec.strategy.for_optimizer(optimizer),
                cache=resolve_cache(spec.cache, default_cache or default_cache_path(env)))
    return ResolvedRun.model_validate({k: v.model_dump() if hasattr(v, "model_dump") else v for k, v in data.items()})
