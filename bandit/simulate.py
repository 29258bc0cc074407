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


def segment_streams(means_by_segment, horizon: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The shared reward streams of a segmented scenario: each step's segment (uniform) and a uniform
    draw per arm (arm ``a`` pays 1 at step ``t`` when ``draws[t, a] < mean[segment, a]``), so every
    method compared sees the same traffic."""
    rng = np.random.default_rng(seed)
    means = np.asarray(means_by_segment, float)
    return rng.integers(means.shape[0], size=horizon), rng.random((horizon, means.shape[1]))


def simulate_segments(policy_cfg, means_by_segment, horizon: int, seed: int, *, segmented: bool,
                      shrinkage: float = 5.0, refresh_every: int = 200) -> np.ndarray:
    """Cumulative regret of the router's routing on a segmented scenario: one global policy
    (``segmented=False``), or per-segment policies as ``bandit.segments`` builds them (rebuilt from the
    global and per-segment statistics every ``refresh_every`` decisions, like a router's refresh, and
    updated in between)."""
    from bandit.segments import shrunk_state

    means = np.asarray(means_by_segment, float)
    segments, draws = segment_streams(means, horizon, seed)
    rng = np.random.default_rng([seed, 7])
    k = means.shape[1]
    glob = build_policy(policy_cfg)
    for _ in range(k):
        glob.add_arm()
    own = np.zeros((means.shape[0], 3, k))
    policies: dict[int, object] = {}
    regret, total = np.empty(horizon), 0.0
    for t in range(horizon):
        g = int(segments[t])
        if segmented and (t % refresh_every == 0):
            policies = {}
        policy = glob
        if segmented:
            policy = policies.get(g)
            if policy is None:
                policy = build_policy(policy_cfg)
                for _ in range(k):
                    policy.add_arm()
                policy.load_state_dict(shrunk_state(glob.state_dict(), {a: tuple(own[g, :, a]) for a in range(k)},
                                                    shrinkage))
                policies[g] = policy
        arm = policy.select(rng)
        reward = float(draws[t, arm] < means[g, arm])
        glob.update(arm, reward)
        if segmented:
            policy.update(arm, reward)
            own[g, :, arm] += (1.0, reward, reward * reward)
        total += means[g].max() - means[g, arm]
        regret[t] = total
    return regret
