"""``ExperimentConfig``: one YAML file per experiment (suites, strategies, seeds, tracking, plus the
``RunSettings`` every run shares with ``evo optimize``: budget, task model, optimizer, evaluator, cache,
split limits), validated by pydantic (extra=forbid). Ablations are overlay files deep-merged onto a
base before validation; errors name the file(s) and the field.

``resolve_experiment(config, env)`` applies every default once (optimizer from the environment,
optimizer-dependent strategy settings, the cache file, the tracking URI); the ``ResolvedExperiment``
is what is logged and written to ``resolved_config.yaml``, and fed back to ``evo compare`` it
reproduces the experiment. ``cell(suite, strategy, seed)`` gives the ``ResolvedRun`` of one run.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Mapping

from pydantic import model_validator, ConfigDict, Field, field_validator

from evo.config_base import StrictConfig, deep_merge, read_mapping, validate_config
from evo.llm.config import BackendConfig
from evo.run.resolve import ResolvedRun, config_sha256, resolve
from evo.run.spec import RunSettings, RunSpec
from evo.strategies.baseline import BaselineConfig
from evo.strategies.registry import StrategyConfig
from evo.tracking import MlflowConfig, TrackingConfig, default_tracking_uri


class TotalBudget(StrictConfig):
    """A cap on the whole comparison, checked before anything runs against the estimate's upper bound
    (every run's search budget plus the final scoring): a config that could spend more is refused."""

    max_usd: float | None = Field(None, gt=0, description="USD of every run together, final scoring included")
    max_calls: int | None = Field(None, ge=1, description="LLM calls of every run together, final scoring included")


class ExperimentConfig(RunSettings):
    name: str = Field(pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$")  # a directory name: no "..", no "/"
    description: str = ""
    suites: list[str] = Field(min_length=1)
    strategies: dict[str, StrategyConfig] = Field(min_length=1)
    baseline: bool = True
    total_budget: TotalBudget = Field(default_factory=TotalBudget, description="a cap on the whole comparison "
                                      "(`budget` applies to each strategy x seed run)")
    seeds: list[Annotated[int, Field(ge=0, lt=2**63)]] = Field(default_factory=lambda: [0], min_length=1)
    tracking: TrackingConfig = Field(default_factory=MlflowConfig)
    output_dir: str = "results"
    bootstrap_resamples: int = Field(2000, ge=100)
    parallel_runs: int = Field(1, ge=1, description="strategy x seed runs at a time (with a Ray evaluator, "
                                                      "each run's evaluations spread over the cluster)")
    judge_pairs: Literal["none", "all"] | list[tuple[str, str]] = Field(
        "none", description="compare these strategies' winners (pairs of names; `baseline` is the seed prompt) "
                            "on the test examples with the judge model, in both orders: a win rate with a CI, "
                            "for suites without ground truth; all: every pair")
    cache_scope: Literal["strategy", "shared"] = Field(
        "strategy", description="strategy: one response cache per strategy (the baseline too), so wall time "
                                "and cache hits do not depend on run order; shared: one cache for all")

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, v: list[int]) -> list[int]:
        repeated = sorted({s for s in v if v.count(s) > 1})
        if repeated:
            raise ValueError(f"seed(s) {repeated} listed twice: a repeated seed repeats the same run, it is not "
                             "another sample")
        return v

    @field_validator("strategies")
    @classmethod
    def _names(cls, v: dict) -> dict:
        for name, cfg in v.items():
            if name == "baseline" or not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"strategy name {name!r} must be alphanumeric (and not 'baseline')")
            if cfg.kind == "baseline":
                raise ValueError(f"strategy {name!r}: the baseline is configured with `baseline: true`")
        return v

    @model_validator(mode="after")
    def _known_pairs(self):
        if isinstance(self.judge_pairs, list):
            known = set(self.strategies) | ({"baseline"} if self.baseline else set())
            for a, b in self.judge_pairs:
                for name in (a, b):
                    if name not in known:
                        raise ValueError(f"judge_pairs names {name!r}, which is not a strategy here "
                                         f"({', '.join(sorted(known))})")
                if a == b:
                    raise ValueError(f"judge_pairs: {a!r} against itself")
        return self

    @property
    def out_dir(self) -> Path:
        return Path(self.output_dir) / self.name


class ResolvedExperiment(ExperimentConfig):
    """An ``ExperimentConfig`` with every default applied (frozen)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    optimizer: BackendConfig

    def sha256(self) -> str:
        return config_sha256(self.model_dump(mode="json"))

    def cell(self, suite: str, strategy: str, seed: int) -> ResolvedRun:
        """The resolved run of one comparison cell (``strategy == "baseline"``: the seed prompt)."""
        strat = BaselineConfig() if strategy == "baseline" else self.strategies[strategy]
        cache = self.cache
        if isinstance(cache, str) and self.cache_scope == "strategy":
            cache = str(Path(cache).parent / "caches" / f"{strategy}.sqlite")
        return ResolvedRun(suite=suite, strategy=strat, seed=seed, budget=self.budget, task_model=self.task_model,
                           optimizer=self.optimizer, judge=self.judge, evaluator=self.evaluator, cache=cache,
                           final_samples=self.final_samples,
                           split_limits=self.split_limits)


def resolve_experiment(config: ExperimentConfig, env: Mapping[str, str] | None = None) -> ResolvedExperiment:
    """``config`` with every default applied by ``evo.run.resolve`` (the one resolver): each strategy
    and each suite is resolved as a run of this experiment, and the experiment keeps what they resolved
    to; only the tracking URI is the experiment's own default. ``cache: true`` means
    ``<output_dir>/<name>/cache.sqlite``."""
    env = os.environ if env is None else env

    def run_of(suite: str, strategy) -> ResolvedRun:
        spec = RunSpec(suite=suite, strategy=strategy, seed=config.seeds[0],
                       **{name: getattr(config, name) for name in RunSettings.model_fields})
        return resolve(spec, env=env, default_cache=config.out_dir / "cache.sqlite")

    suite_runs = [run_of(suite, BaselineConfig()) for suite in config.suites]
    data = config.model_dump(mode="json")
    data.update(optimizer=suite_runs[0].optimizer.model_dump(mode="json"),
                cache=suite_runs[0].cache,
                suites=[run.suite for run in suite_runs],
                strategies={name: run_of(config.suites[0], strategy).strategy.model_dump(mode="json")
                            for name, strategy in config.strategies.items()})
    if data["tracking"]["kind"] == "mlflow":
        data["tracking"]["uri"] = config.tracking.uri or default_tracking_uri(config.output_dir, env)
        data["tracking"]["experiment"] = config.tracking.experiment or config.name
    return ResolvedExperiment.model_validate(data)


def load_raw(path: str | Path, overlays: list[str | Path] = ()) -> tuple[dict, str]:
    raw = read_mapping(path, "an experiment config")
    sources = [str(path)]
    for overlay in overlays:
        raw = deep_merge(raw, read_mapping(overlay, "an overlay"))
        sources.append(str(overlay))
    return raw, " + ".join(sources)


def validate(raw: dict, source: str) -> ExperimentConfig:
    return validate_config(ExperimentConfig, raw, source)


def with_mlflow(raw: dict, mlflow: bool | None) -> dict:
    """``raw`` with tracking forced on (``--mlflow``: MLflow, keeping a configured URI) or off
    (``--no-mlflow``); ``None`` keeps the config's choice."""
    if mlflow is None:
        return raw
    current = raw.get("tracking") or {"kind": "mlflow"}
    if mlflow:
        return {**raw, "tracking": current if current.get("kind", "mlflow") == "mlflow" else {"kind": "mlflow"}}
    return {**raw, "tracking": {"kind": "none"}}


def load_experiment(path: str | Path, overlays: list[str | Path] = (), *, mlflow: bool | None = None,
                    overrides: dict | None = None) -> ExperimentConfig:
    """The experiment of ``path`` with ``overlays`` deep-merged, then ``overrides`` (command-line flags)."""
    raw, source = load_raw(path, overlays)
    if overrides:
        raw = deep_merge(raw, overrides)
        source += " + command line"
    return validate(with_mlflow(raw, mlflow), source)
