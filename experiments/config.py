"""``ExperimentConfig``: one YAML file per experiment (suites, models, strategies, matched budget,
seeds, evaluator, tracking), validated by pydantic (extra=forbid). Ablations are overlay files
deep-merged onto a base before validation; errors name the file(s) and the field.
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evo.budget import BudgetConfig
from evo.errors import ConfigError, pydantic_error_to_config_error
from evo.llm.config import BackendCfg, LocalCfg
from evo.optimize_config import StrategyCfg
from evo.tasks.loader import read_yaml


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ThreadsEvaluatorCfg(_Cfg):
    kind: Literal["threads"] = "threads"
    workers: int = Field(4, ge=1)


class RayEvaluatorCfg(_Cfg):
    kind: Literal["ray"]
    address: str = Field("local", description="local | auto | ray://host:port")
    num_workers: int = Field(2, ge=1, description="evaluation actors")
    threads_per_worker: int = Field(1, ge=1, description="calls in flight per actor (and llama.cpp threads)")
    num_cpus: int | None = Field(None, ge=1, description="CPUs for a local cluster (default: all)")


EvaluatorCfg = Annotated[Union[ThreadsEvaluatorCfg, RayEvaluatorCfg], Field(discriminator="kind")]


class MlflowCfg(_Cfg):
    kind: Literal["mlflow"] = "mlflow"
    uri: str | None = Field(None, description="tracking URI; default $MLFLOW_TRACKING_URI or sqlite under output_dir")
    experiment: str | None = Field(None, description="MLflow experiment name; default: the config's name")


class NoTrackingCfg(_Cfg):
    kind: Literal["none"]


TrackingCfg = Annotated[Union[MlflowCfg, NoTrackingCfg], Field(discriminator="kind")]


class SplitLimits(_Cfg):
    train: int | None = Field(None, ge=1)
    val: int | None = Field(None, ge=1)
    test: int | None = Field(None, ge=1)


class ExperimentConfig(_Cfg):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    suites: list[str] = Field(min_length=1)
    split_limits: SplitLimits = Field(default_factory=SplitLimits)
    task_model: BackendCfg = Field(default_factory=LocalCfg)
    optimizer: BackendCfg | None = None
    strategies: dict[str, StrategyCfg] = Field(min_length=1)
    baseline: bool = True
    budget: BudgetConfig = Field(default_factory=lambda: BudgetConfig(max_calls=600))
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    evaluator: EvaluatorCfg = Field(default_factory=ThreadsEvaluatorCfg)
    tracking: TrackingCfg = Field(default_factory=MlflowCfg)
    output_dir: str = "results"
    cache: bool = True
    bootstrap_resamples: int = Field(2000, ge=100)

    @field_validator("strategies")
    @classmethod
    def _names(cls, v: dict) -> dict:
        for name in v:
            if name == "baseline" or not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"strategy name {name!r} must be alphanumeric (and not 'baseline')")
        return v

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def deep_merge(base: dict, overlay: dict) -> dict:
    """``overlay`` onto ``base``: mappings merge key by key; anything else replaces (``null`` too)."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _mapping(path: Path) -> dict:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "an experiment config must be a mapping")
    return data


def load_raw(path: str | Path, overlays: list[str | Path] = ()) -> tuple[dict, str]:
    raw = _mapping(Path(path))
    sources = [str(path)]
    for overlay in overlays:
        raw = deep_merge(raw, _mapping(Path(overlay)))
        sources.append(str(overlay))
    return raw, " + ".join(sources)


def validate(raw: dict, source: str) -> ExperimentConfig:
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise pydantic_error_to_config_error(source, exc) from None


def load_experiment(path: str | Path, overlays: list[str | Path] = ()) -> ExperimentConfig:
    raw, source = load_raw(path, overlays)
    return validate(raw, source)
