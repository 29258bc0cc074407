"""Declared metrics and guardrails of a router (``metrics:`` in its rollout YAML).

Contract:
- A metric has a ``name``, a ``type`` (``boolean``: values 0/1; ``float``: any finite value within
  ``range``), a ``direction`` (``maximize``/``minimize``) and a ``level`` (``decision``: feedback names
  a decision; ``episode``: feedback names an episode, and every decision routed with that
  ``episode_id`` receives the value). ``POST /feedback`` takes any declared metric, at most once per
  (decision or episode, metric).
- The routing objective is the metric named by ``objective`` (default: the reward, ``/reward``);
  feedback on it is a reward for each decision it reaches (at most once per decision).
- A metric with ``guardrail: {max_degradation, probability}`` is watched per arm against production:
  when the posterior probability that an arm is worse than the production arm by more than
  ``max_degradation`` (in the metric's own direction) exceeds ``probability``, after ``min_samples``
  values on both, the arm is rolled back like a rollout rollback, with a ``guardrail`` event naming the
  metric and the evidence. Posteriors: Beta(1 + s, 1 + n - s) for boolean metrics, a normal
  approximation of the mean for float ones.
- ``holdout``: this share of traffic always goes to production (decisions flagged ``holdout``), so the
  lift of the experiment's arms over production is measured on the same traffic (``lift``).
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from evo.config_base import StrictConfig


class GuardrailConfig(StrictConfig):
    max_degradation: float = Field(ge=0, description="how much worse than production is too much, in the "
                                   "metric's units")
    probability: float = Field(0.95, gt=0.5, lt=1, description="posterior probability of that which rolls back")
    min_samples: int = Field(30, ge=1, description="values an arm and production need before the check")


class MetricConfig(StrictConfig):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
    type: Literal["boolean", "float"] = "boolean"
    direction: Literal["maximize", "minimize"] = "maximize"
    level: Literal["decision", "episode"] = "decision"
    range: tuple[float, float] = Field((-1e12, 1e12), description="float metrics: accepted values")
    guardrail: GuardrailConfig | None = None

    def check_value(self, value) -> float:
        """``value`` as a float if this metric accepts it, else ``ValueError`` naming the metric."""
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"metric {self.name!r} takes a number, not {value!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"metric {self.name!r} takes a finite number")
        if self.type == "boolean" and value not in (0.0, 1.0):
            raise ValueError(f"metric {self.name!r} is boolean: 0 or 1 (or true/false), not {value:g}")
        lo, hi = self.range
        if not lo <= value <= hi:
            raise ValueError(f"metric {self.name!r}: {value:g} is outside [{lo:g}, {hi:g}]")
        return value


class MetricsConfig(StrictConfig):
    declared: list[MetricConfig] = Field(default_factory=list, description="the metrics /feedback accepts")
    objective: str | None = Field(None, description="the metric routing optimizes (its feedback is a reward); "
                                  "null: the reward of /reward only")
    holdout: float = Field(0.0, ge=0, lt=0.5, description="share of traffic always served production (control)")

    @model_validator(mode="after")
    def _consistent(self):
        names = [m.name for m in self.declared]
        if len(set(names)) != len(names):
            raise ValueError("metric names must be unique")
        if self.objective is not None and self.objective not in names:
            raise ValueError(f"objective {self.objective!r} is not a declared metric ({', '.join(names) or 'none'})")
        return self

    def metric(self, name: str) -> MetricConfig:
        for m in self.declared:
            if m.name == name:
                return m
        raise KeyError(name)


def _draws(n: float, s: float, ss: float, kind: str, rng, draws: int) -> np.ndarray:
    if kind == "boolean":
        return rng.beta(1.0 + s, 1.0 + max(n - s, 0.0), size=draws)
    mean = s / n
    var = max(ss / n - mean * mean, 1e-12) * n / max(n - 1, 1.0)
    return rng.normal(mean, math.sqrt(var / n), size=draws)


def guardrail_breaches(arms, production, stats: dict, cfg: MetricsConfig, rng, draws: int = 4000) -> list[dict]:
    """Arms to roll back: one entry (arm_id, metric, p_worse, ...) per non-production active arm whose
    guardrail metric is worse than ``production``'s beyond its margin with the configured probability.
    ``stats``: (arm_id, metric) -> (n, s, ss)."""
    out = []
    for metric in (m for m in cfg.declared if m.guardrail is not None):
        g = metric.guardrail
        base = stats.get((production.id, metric.name))
        if base is None or base[0] < g.min_samples:
            continue
        prod_draws = _draws(*base, metric.type, rng, draws)
        for arm in arms:
            if arm.production or not arm.active or arm.stage < 0:
                continue
            mine = stats.get((arm.id, metric.name))
            if mine is None or mine[0] < g.min_samples:
                continue
            arm_draws = _draws(*mine, metric.type, rng, draws)
            worse = (arm_draws < prod_draws - g.max_degradation if metric.direction == "maximize"
                     else arm_draws > prod_draws + g.max_degradation)
            p_worse = float(np.mean(worse))
            if p_worse > g.probability:
                out.append({"arm_id": arm.id, "metric": metric.name, "p_worse": round(p_worse, 4),
                            "max_degradation": g.max_degradation, "versus": production.id,
                            "arm_mean": round(mine[1] / mine[0], 4), "production_mean": round(base[1] / base[0], 4),
                            "samples": mine[0]})
    return out
