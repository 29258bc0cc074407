"""Fixed-confidence winner declaration: stop an experiment with a best arm at confidence 1 - delta.

What is implemented (cited so it can be checked):
- Sampling: Top-Two Thompson Sampling (Russo, "Simple Bayesian algorithms for best-arm
  identification", COLT 2016): draw from the posterior; with probability ``leader_prob`` serve the
  draw's best arm (the leader), else the best arm of a fresh draw that is not the leader (the
  challenger), plus an ``exploration_floor`` of uniform traffic. Its selection probabilities are
  computed from the posterior's argmax shares, so every decision logs an exact propensity.
- Stopping: the generalized likelihood ratio (GLR) statistic of Garivier and Kaufmann ("Optimal best
  arm identification with fixed confidence", COLT 2016), in its epsilon-good form (Jourdan, Degenne,
  Kaufmann, "Top two algorithms revisited", NeurIPS 2022): for the empirical best arm ``i`` and every
  other arm ``j``, ``Z_j = inf over x_i <= x_j + epsilon of N_i kl(mu_i, x_i) + N_j kl(mu_j, x_j)``
  (Bernoulli ``kl``); the experiment stops when ``min_j Z_j`` exceeds
  ``beta(t, delta) = log((1 + log t) / delta)`` and every arm has ``min_pulls``. That threshold is the
  one Garivier and Kaufmann use in their experiments (the proven ones are larger and stop later); its
  error rate is measured, not assumed: ``benchmarks/bench_winner.py`` reports it against delta.
- Rewards in [0, 1]; a fractional reward counts as a Bernoulli mean (the kl bound still holds for
  [0, 1]-bounded rewards, which are sub-Bernoulli).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from evo.config_base import StrictConfig

_EPS = 1e-12


class WinnerConfig(StrictConfig):
    """The experiment mode of a router (in its rollout YAML, under ``winner``)."""

    enabled: bool = Field(False, description="stop with a declared winner (then promote it and end the others)")
    delta: float = Field(0.05, gt=0, lt=0.5, description="the chance of declaring an arm that is not within epsilon "
                                                           "of the best")
    epsilon: float = Field(0.0, ge=0, lt=1, description="how much worse than the best a declared winner may be")
    min_pulls: int = Field(100, ge=1, description="rewards every active arm needs before the experiment can stop")
    on_stop: Literal["retire", "keep"] = Field("retire", description="retire the other arms, or keep them serving "
                                               "as non-production arms")


def kl_bernoulli(p, q):
    """kl(p, q) for Bernoulli means (arrays broadcast), clipped away from 0 and 1."""
    p = np.clip(p, _EPS, 1 - _EPS)
    q = np.clip(q, _EPS, 1 - _EPS)
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


def glr_pair(n_i: float, mu_i: float, n_j: float, mu_j: float, epsilon: float = 0.0) -> float:
    """The GLR evidence that arm i beats arm j by more than -epsilon (0 when the data do not)."""
    if mu_i - mu_j <= -epsilon or n_i <= 0 or n_j <= 0:
        return 0.0
    if epsilon == 0.0:
        x = (n_i * mu_i + n_j * mu_j) / (n_i + n_j)
        return float(n_i * kl_bernoulli(mu_i, x) + n_j * kl_bernoulli(mu_j, x))
    # the closest alternative has x_i = x_j + epsilon; the objective is convex in x_j
    grid = np.linspace(0.0, 1.0 - epsilon, 401)
    values = n_i * kl_bernoulli(mu_i, grid + epsilon) + n_j * kl_bernoulli(mu_j, grid)
    k = int(np.argmin(values))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    fine = np.linspace(lo, hi, 101)
    return float(np.min(n_i * kl_bernoulli(mu_i, fine + epsilon) + n_j * kl_bernoulli(mu_j, fine)))


def threshold(t: float, delta: float, k: int) -> float:
    """The stopping threshold after ``t`` rewards (``k`` arms; see the module docstring)."""
    return math.log((1.0 + math.log(max(t, 1.0))) / delta)


@dataclass(frozen=True)
class Verdict:
    stop: bool
    leader: int  # index into the arrays given (-1: no data)
    statistic: float  # min over challengers of the GLR
    threshold: float
    pulls: float  # total rewards
    closest: int  # the challenger with the least evidence against it (-1 when none)

    def to_json(self, ids: list[str] | None = None) -> dict:
        name = (lambda i: ids[i] if ids is not None and i >= 0 else i)
        return {"stop": self.stop, "leader": name(self.leader), "statistic": round(self.statistic, 4),
                "threshold": round(self.threshold, 4), "pulls": self.pulls, "closest_challenger": name(self.closest)}


def verdict(n: np.ndarray, s: np.ndarray, cfg: WinnerConfig) -> Verdict:
    """Whether the arms with pulls ``n`` and reward sums ``s`` (active arms only) can stop."""
    n, s = np.asarray(n, float), np.asarray(s, float)
    k = len(n)
    t = float(n.sum())
    beta = threshold(t, cfg.delta, k)
    if k == 0 or t == 0:
        return Verdict(False, -1, 0.0, beta, t, -1)
    mu = np.where(n > 0, s / np.maximum(n, _EPS), 0.0)
    leader = int(np.argmax(np.where(n > 0, mu, -np.inf)))
    if k == 1:
        return Verdict(bool(n[0] >= cfg.min_pulls), 0, math.inf, beta, t, -1)
    stats = [(glr_pair(n[leader], mu[leader], n[j], mu[j], cfg.epsilon), j) for j in range(k) if j != leader]
    z, closest = min(stats)
    enough = bool((n >= cfg.min_pulls).all())
    return Verdict(bool(enough and z > beta), leader, z, beta, t, closest)

