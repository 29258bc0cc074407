"""``OptimizeConfig``: everything one optimization run needs, validated once (pydantic, extra=forbid).

YAML example (all keys optional)::

    strategy: {kind: iterative, n_candidates: 3}
    budget: {max_calls: 600}
    task_model: {kind: local}
    optimizer: {kind: anthropic, model: claude-opus-4-5}   # default: Opus if ANTHROPIC_API_KEY is set, else local
    seed: 0
    workers: 4
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evo.budget import BudgetConfig
from evo.errors import ConfigError, pydantic_error_to_config_error
from evo.llm.config import AnthropicCfg, BackendCfg, LocalCfg
from evo.strategies.evolutionary import EvolutionaryConfig
from evo.strategies.hybrid import HybridConfig
from evo.strategies.iterative import IterativeConfig
from evo.tasks.loader import read_yaml

StrategyCfg = Annotated[Union[IterativeConfig, EvolutionaryConfig, HybridConfig], Field(discriminator="kind")]


class OptimizeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strategy: StrategyCfg = Field(default_factory=IterativeConfig)
    budget: BudgetConfig = Field(default_factory=lambda: BudgetConfig(max_calls=800))
    task_model: BackendCfg = Field(default_factory=LocalCfg)
    optimizer: BackendCfg | None = None
    seed: int = 0
    workers: int = Field(4, ge=1)
    cache: bool = True


def default_optimizer_cfg():
    """Claude Opus when an Anthropic key is set, the embedded local model otherwise."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return AnthropicCfg(kind="anthropic")
    return LocalCfg()


def load_optimize_config(path: str | Path | None, overrides: dict | None = None) -> OptimizeConfig:
    raw: dict = {}
    if path is not None:
        data = read_yaml(Path(path))
        if data is not None and not isinstance(data, dict):
            raise ConfigError(path, "an optimize config must be a mapping")
        raw = data or {}
    for key, value in (overrides or {}).items():
        if isinstance(value, dict):
            raw[key] = {**(raw.get(key) or {}), **value}
        else:
            raw[key] = value
    try:
        return OptimizeConfig.model_validate(raw)
    except ValidationError as exc:
        raise pydantic_error_to_config_error(path or "command line", exc) from None
