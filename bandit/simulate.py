"""Simulated traffic for comparing policies: Bernoulli or Gaussian arms, optionally drifting.

``simulate(policy_cfg, arms, horizon, seed)`` returns the cumulative (pseudo-)regret curve: at each
step, the best arm's expected reward minus the chosen arm's, summed. Per-run seeds are drawn from a
``SeedSequence`` before fanning out, so results do not depend on the order of runs.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field
from evo.config_base import StrictConfig

from bandit.policies import build_policy


class ArmSpec(StrictConfig):
    kind: Literal["bernoulli", "gaussian"] = "bernoulli"
    mean: float
    sd: float = Field(1.0, gt=0)
    drift: float = Field(0.0, description="added to the mean at every step (non-stationary traffic)")


def simulate(policy_cfg, arms: list[ArmSpec], horizon: int, seed: int) -> np.ndarray:
    rng_policy, rng_env = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    policy = build_policy(policy_cfg)
    for _ in arms:
        policy.add_arm()
    base = np.array([a.mean for a in arms], dtype=float)
    drift = np.array([a.drift for a in arms], dtype=float)
    bernoulli = np.array([a.kind == "bernoulli" for a in arms])
    sds = np.array([a.sd for a in arms], dtype=float)
    regret = np.empty(horizon)
    total = 0.0
    for t in range(horizon):
        means = base + drift * t
        if bernoulli.any():
            means = np.where(bernoulli, np.clip(means, 0.0, 1.0), means)
        arm = policy.select(rng_policy)
        if bernoulli[arm]:
            reward = float(rng_env.random() < means[arm])
        else:
            reward = float(rng_env.normal(means[arm], sds[arm]))
        policy.update(arm, reward)
        total += means.max() - means[arm]
        regret[t] = total
    return regret


def compare_policies(policy_cfgs: dict, arms: list[ArmSpec], horizon: int, seeds: int, seed: int = 0) -> dict:
    """label -> (seeds x horizon) regret matrix; every policy sees the same per-run seeds."""
    run_seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(seeds)]
    return {label: np.stack([simulate(cfg, arms, horizon, s) for s in run_seeds]) for label, cfg in policy_cfgs.items()}
