"""Staged rollout and guardrails for router arms.

Contract:
- Every non-production arm has a rollout ``stage`` (stored with the arm): its traffic cap is
  ``stages[stage]`` (default 10% -> 50% -> 100%); stage -1 means rolled back (cap 0). Production arms
  have no cap, and together keep at least ``production_floor`` of the traffic.
- Caps and the floor hold over a sliding window of each router's last ``window`` decisions:
  ``ShareWindow.allowed`` admits an arm only if routing this request to it keeps its share of the
  window at or under its cap, so a share never exceeds its cap, in every window and in total (several
  router processes each hold their own window, so their sum holds too).
- ``review`` decides stage changes from the arms' statistics: advance after ``advance_after_pulls``
  rewards in the stage (or ``advance_after_seconds``), and roll back when the posterior probability
  that the arm's mean reward is below production's by more than ``rollback_margin`` exceeds
  ``rollback_probability`` (after ``min_pulls`` rewards). The router applies the changes through the
  store, which logs each one as an event.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from pydantic import Field, field_validator, model_validator

from bandit.declared_metrics import MetricsConfig
from bandit.segments import SegmentConfig
from bandit.winner import WinnerConfig
from evo.config_base import StrictConfig

ROLLED_BACK = -1


class RolloutConfig(StrictConfig):
    enabled: bool = Field(True, description="false: every active arm competes for all traffic at once")
    stages: list[float] = Field(default_factory=lambda: [0.1, 0.5, 1.0],
                                description="traffic caps of the rollout stages, increasing, the last 1.0")
    advance_after_pulls: int | None = Field(200, ge=1, description="rewards in a stage before the next stage")
    advance_after_seconds: float | None = Field(None, gt=0, description="or time in a stage before the next")
    production_floor: float = Field(0.1, ge=0, lt=1, description="minimum traffic share of production arms")
    window: int = Field(1000, ge=10, description="decisions over which each router counts shares")
    rollback_margin: float = Field(0.05, ge=0, description="how much worse than production is too much")
    rollback_probability: float = Field(0.95, gt=0.5, lt=1)
    min_pulls: int = Field(30, ge=1, description="rewards an arm needs before it can be rolled back")
    metrics: MetricsConfig = Field(default_factory=lambda: MetricsConfig(), description="declared metrics for "
                                   "POST /feedback, the routing objective, guardrails and a control holdout "
                                   "(bandit.declared_metrics)")
    segments: SegmentConfig = Field(default_factory=lambda: SegmentConfig(), description="per-segment routing "
                                    "(bandit.segments): statistics per value of chosen request features")
    winner: WinnerConfig = Field(default_factory=lambda: WinnerConfig(), description="fixed-confidence winner "
                                   "declaration (bandit.winner): stop with a best arm at confidence 1 - delta")

    @field_validator("stages")
    @classmethod
    def _stages(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 < c <= 1 for c in v) or any(b <= a for a, b in zip(v, v[1:])) or v[-1] != 1.0:
            raise ValueError("stages must be increasing caps in (0, 1] ending with 1.0, e.g. [0.1, 0.5, 1.0]")
        return v

    @model_validator(mode="after")
    def _advance(self):
        if self.advance_after_pulls is None and self.advance_after_seconds is None and len(self.stages) > 1:
            raise ValueError("set advance_after_pulls or advance_after_seconds (or a single stage [1.0])")
        return self


def cap_of(arm, cfg: RolloutConfig) -> float:
    """The traffic cap of an arm row (``production``, ``stage`` attributes)."""
    if arm.production:
        return 1.0
    if arm.stage < 0:  # rolled back (by the rollout or a guardrail), staged rollout or not
        return 0.0
    if not cfg.enabled:
        return 1.0
    return cfg.stages[min(arm.stage, len(cfg.stages) - 1)]


def stage_label(arm, cfg: RolloutConfig) -> str:
    if arm.production:
        return "production"
    if arm.stage < 0:
        return "rolled back"
    if not cfg.enabled:
        return "full"
    if arm.stage >= len(cfg.stages) - 1:
        return "full"
    return f"{arm.stage + 1}/{len(cfg.stages)}"


class ShareWindow:
    """Each arm's count among the last ``size`` decisions of this router."""

    def __init__(self, size: int):
        self.recent: deque[str] = deque()
        self.size = size
        self.counts: dict[str, int] = {}

    def push(self, arm_id: str) -> None:
        self.recent.append(arm_id)
        self.counts[arm_id] = self.counts.get(arm_id, 0) + 1
        if len(self.recent) > self.size:
            old = self.recent.popleft()
            self.counts[old] -= 1

    def share(self, arm_id: str) -> float:
        return self.counts.get(arm_id, 0) / len(self.recent) if self.recent else 0.0

    def allowed(self, candidates: list[tuple[int, str, float, bool]], floor: float) -> list[int]:
        """Indices of ``candidates`` (index, arm id, cap, production) this decision may go to."""
        # the window after this decision: the oldest entry leaves once the window is full
        full = len(self.recent) >= self.size
        leaving = self.recent[0] if full else None
        total = len(self.recent) + (0 if full else 1)

        def count_after(arm_id: str) -> int:
            return self.counts.get(arm_id, 0) - (1 if arm_id == leaving else 0)

        production = [i for i, _, _, prod in candidates if prod]
        if production and floor > 0:
            kept = sum(count_after(a) for _, a, _, prod in candidates if prod)
            if kept < floor * total:  # the floor is not met even if this decision goes to production
                return production
        out = [i for i, arm_id, cap, _ in candidates if cap >= 1.0 or count_after(arm_id) + 1 <= cap * total]
        return out or production or [i for i, _, _, _ in candidates]


@dataclass(frozen=True)
class StageChange:
    arm_id: str
    from_stage: int
    to_stage: int
    reason: str  # "advance" or "rollback"
    detail: dict


def review(arms, index: dict[str, int], policy, cfg: RolloutConfig, rng: np.random.Generator, now: float,
           draws: int = 4000) -> list[StageChange]:
    """Stage changes for the active, non-production arms (see the module contract)."""
    if not cfg.enabled:
        return []
    production = [a for a in arms if a.production and a.active]
    candidates = [a for a in arms if a.active and not a.production and a.stage >= 0]
    if not candidates:
        return []
    samples = policy.posterior_draws(rng, draws)
    best_prod = None
    if production:
        best_prod = max(production, key=lambda a: a.s / a.n if a.n else -np.inf)
    changes = []
    for arm in candidates:
        if best_prod is not None and arm.n >= cfg.min_pulls and best_prod.n >= cfg.min_pulls:
            worse = float(np.mean(samples[index[arm.id]] < samples[index[best_prod.id]] - cfg.rollback_margin))
            if worse > cfg.rollback_probability:
                changes.append(StageChange(arm.id, arm.stage, ROLLED_BACK, "rollback",
                                           {"p_worse": round(worse, 4), "margin": cfg.rollback_margin,
                                            "versus": best_prod.id, "pulls": arm.n}))
                continue
        if arm.stage >= len(cfg.stages) - 1:
            continue
        in_stage = arm.n - arm.stage_pulls
        by_pulls = cfg.advance_after_pulls is not None and in_stage >= cfg.advance_after_pulls
        by_time = (cfg.advance_after_seconds is not None and arm.stage_since is not None
                   and now - arm.stage_since >= cfg.advance_after_seconds)
        if by_pulls or by_time:
            changes.append(StageChange(arm.id, arm.stage, arm.stage + 1, "advance",
                                       {"cap": cfg.stages[arm.stage + 1], "pulls_in_stage": in_stage}))
    return changes
