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


def simulate(policy_cfg, arms: list[ArmSpec], horizon: int, seed: int, *, delay: int = 0,
             missing: float = 0.0) -> np.ndarray:
    """``delay``: a reward reaches the policy this many decisions later; ``missing``: the share of
    rewards that never arrive (drawn from their own stream, so the traffic is the same)."""
    rng_policy, rng_env = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    rng_loss = np.random.default_rng([seed, 3])
    pending: list[tuple[int, float]] = []
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
        if not (missing and rng_loss.random() < missing):
            pending.append((arm, reward))
        while pending and len(pending) > delay:
            policy.update(*pending.pop(0))
        total += means.max() - means[arm]
        regret[t] = total
    return regret


def compare_policies(policy_cfgs: dict, arms: list[ArmSpec], horizon: int, seeds: int, seed: int = 0, *,
                     delay: int = 0, missing: float = 0.0) -> dict:
    """label -> (seeds x horizon) regret matrix; every policy sees the same per-run seeds."""
    run_seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(seeds)]
    return {label: np.stack([simulate(cfg, arms, horizon, s, delay=delay, missing=missing) for s in run_seeds])
            for label, cfg in policy_cfgs.items()}


SEGMENT_MEANS = [[0.70, 0.50, 0.45, 0.55], [0.50, 0.70, 0.55, 0.45], [0.45, 0.55, 0.70, 0.50],
                 [0.55, 0.45, 0.50, 0.70]]  # 4 segments, each with its own best of 4 prompts


def compare_segments(policy_cfgs: dict, horizon: int, seeds: int, means=SEGMENT_MEANS) -> dict:
    """label -> (seeds x horizon) regret: each policy routing globally and by segment, same streams."""
    out = {}
    for label, cfg in policy_cfgs.items():
        for segmented in (False, True):
            name = f"{label} ({'segments' if segmented else 'global'})"
            out[name] = np.stack([simulate_segments(cfg, means, horizon, s, segmented=segmented) for s in range(seeds)])
    return out


def simulate_guardrail(policy_cfg, horizon: int, seed: int, *, guarded: bool, review_every: int = 100):
    """Objective vs a latency guardrail that trade off: prompt 'fast' (objective 0.50, 300 ms),
    'accurate' (0.60, 700 ms), 'balanced' (0.55, 350 ms); the guardrail allows 100 ms over production
    ('fast'). Returns (objective regret curve against the best prompt the guardrail allows, share of
    decisions served by a prompt that breaks it). A 10% holdout keeps measuring production."""
    from bandit.declared_metrics import MetricsConfig, guardrail_breaches

    objective, latency = np.array([0.50, 0.60, 0.55]), np.array([300.0, 700.0, 350.0])
    cfg = MetricsConfig(declared=[{"name": "latency_ms", "type": "float", "direction": "minimize",
                                   "guardrail": {"max_degradation": 100, "probability": 0.95, "min_samples": 30}}],
                        holdout=0.1)
    allowed_best = objective[latency <= latency[0] + 100].max()
    rng, env = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    policy = build_policy(policy_cfg)
    for _ in objective:
        policy.add_arm()
    stats = np.zeros((3, 3))  # per arm: n, s, ss of latency
    ids = ["fast", "accurate", "balanced"]
    regret, total, breaking = np.empty(horizon), 0.0, 0
    for t in range(horizon):
        arm = 0 if rng.random() < cfg.holdout else policy.select(rng)
        reward = float(env.random() < objective[arm])
        ms = float(env.normal(latency[arm], 50.0))
        policy.update(arm, reward)
        stats[arm] += (1.0, ms, ms * ms)
        breaking += latency[arm] > latency[0] + 100
        total += allowed_best - objective[arm]
        regret[t] = total
        if guarded and t % review_every == 0:
            from types import SimpleNamespace

            arms = [SimpleNamespace(id=ids[i], production=i == 0, active=bool(policy.active[i]), stage=0)
                    for i in range(3)]
            table = {(ids[i], "latency_ms"): tuple(stats[i]) for i in range(3) if stats[i][0] > 0}
            for breach in guardrail_breaches(arms, arms[0], table, cfg, rng):
                policy.retire_arm(ids.index(breach["arm_id"]))
    return regret, breaking / horizon


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


def simulate_contextual(policy_cfg, means_by_segment, horizon: int, seed: int, *, refit_every: int = 200):
    """Cumulative regret of a contextual policy (``linear_ts``) on a segmented scenario, the request's
    segment given as the feature ``segment``; its model learns in batches of ``refit_every`` decisions,
    as the router refits it from the store's log at each refresh."""
    means = np.asarray(means_by_segment, float)
    segments, draws = segment_streams(means, horizon, seed)
    rng = np.random.default_rng([seed, 7])
    policy = build_policy(policy_cfg)
    for _ in range(means.shape[1]):
        policy.add_arm()
    batch: list = []
    regret, total = np.empty(horizon), 0.0
    for t in range(horizon):
        g = int(segments[t])
        context = {"segment": f"s{g}"}  # a category (a number would be one numeric feature)
        arm = policy.select(rng, context=context)
        batch.append((arm, float(draws[t, arm] < means[g, arm]), context))
        if len(batch) >= refit_every:
            for a, r, c in batch:
                policy.update(a, r, context=c)
            batch = []
        total += means[g].max() - means[g, arm]
        regret[t] = total
    return regret


def identify(means, cfg, *, seed: int, max_steps: int = 200_000, check_every: int = 10,
             leader_prob: float = 0.5, exploration_floor: float = 0.0, uniform: bool = False) -> tuple[int, int]:
    """One simulated experiment on Bernoulli arms with ``means``: top-two TS (or, with ``uniform``,
    an even split: a sequential A/B test) until ``verdict`` stops (checked every ``check_every``
    rewards). Returns (declared arm, samples used); (-1, max_steps) when it never stopped."""
    from bandit.policies import TopTwoTSConfig, UniformConfig
    from bandit.winner import verdict

    rng = np.random.default_rng(seed)
    policy = build_policy(UniformConfig(kind="uniform") if uniform else
                          TopTwoTSConfig(kind="top_two_ts", leader_prob=leader_prob,
                                         exploration_floor=exploration_floor))
    for _ in means:
        policy.add_arm()
    means = np.asarray(means, float)
    for t in range(1, max_steps + 1):
        arm = policy.select(rng)
        policy.update(arm, float(rng.random() < means[arm]))
        if t % check_every == 0:
            v = verdict(policy.n, policy.s, cfg)
            if v.stop:
                return v.leader, t
    return -1, max_steps
