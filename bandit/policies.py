"""Bandit policies over a changing set of arms (deployed prompt genomes).

Contract for every ``Policy``:
- ``select(rng, allowed=None)`` returns the index of an active arm (of ``allowed``, a non-empty list
  of active indices, when given: the router's rollout caps); ``update(index, reward)`` records a
  reward; both are O(arms) numpy work, no Python loop over history.
- ``posterior_draws(rng, draws)`` samples each arm's mean reward (rows = arms): the posterior for
  Thompson policies, a normal approximation of the sample mean otherwise.
- ``add_arm()`` returns the new arm's index; ``retire_arm(index)`` stops selecting it (its statistics
  are kept for reporting). At least one arm must be active to select.
- All randomness comes from the ``numpy.random.Generator`` passed in (never global state).
- ``discount`` in (0, 1] multiplies past evidence by that factor at every update (non-stationary
  traffic); 1.0 means stationary.
- ``shares(rng, draws)`` estimates the traffic share of each arm; ``summary()`` gives per-arm posterior
  (or estimate) summaries; ``state_dict()``/``load_state_dict()`` round-trip the statistics as JSON
  (non-finite or negative statistics are refused as a corrupt store).
- ``check_reward(value)`` accepts a finite reward within the config's ``reward_range`` (else ValueError):
  the router asks the policy, never tests its kind.
- ``propensity(rng, chosen, allowed=None)``: the probability that ``select`` (over the same ``allowed``
  and statistics) returns ``chosen``, logged with every decision for off-policy evaluation. Exact for
  uniform, epsilon-greedy and UCB1 (deterministic: 1); Monte Carlo from the posterior for Thompson
  sampling (``PROPENSITY_DRAWS`` draws, floored at 1 / draws so it is never 0); a policy without its
  own rule gets a Monte Carlo estimate over ``select``. The Monte Carlo shares are cached per allowed
  set and recomputed once the rewards since exceed 5% of the evidence (+1), so the hot path pays a
  cached lookup: one reward among hundreds moves a posterior's shares by less than the estimate's noise.
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, field_validator
from evo.registry import Entry, Registry
from evo.config_base import StrictConfig


def discounted_updates(discount: float, rewards: list[tuple[object, float]]):
    """The one decay rule, for ``rewards`` (arm, value) applied in order: every arm's (n, s, ss) is
    multiplied by ``factor`` (= ``discount ** len(rewards)``), then ``increments[arm]`` = (dn, ds, dss)
    is added; a reward applied j-th of k weighs ``discount ** (k - 1 - j)`` (later rewards decay less),
    exactly as if each were applied alone: decay by ``discount``, then add (1, r, r*r)."""
    k = len(rewards)
    increments: dict = {}
    for j, (arm, value) in enumerate(rewards):
        w = discount ** (k - 1 - j)
        t = increments.setdefault(arm, [0.0, 0.0, 0.0])
        t[0] += w
        t[1] += w * value
        t[2] += w * value * value
    return discount ** k, increments


PROPENSITY_DRAWS = 1024


def mc_shares(idx: np.ndarray, draw, n_arms: int) -> np.ndarray:
    """Per arm, the share of ``PROPENSITY_DRAWS`` columns of ``draw(idx, draws)`` (one row per arm of
    ``idx``) in which it has the largest value."""
    samples = draw(idx, PROPENSITY_DRAWS)
    out = np.zeros(n_arms)
    np.add.at(out, idx[np.argmax(samples, axis=0)], 1.0)
    return out / PROPENSITY_DRAWS


class _PolicyConfig(StrictConfig):
    """Fields every policy config has. ``reward_range``: rewards outside it are refused (HTTP 422), so
    one client cannot capture the router with an extreme reward; set it to your reward's real range."""

    discount: float = Field(1.0, gt=0, le=1)
    reward_range: tuple[float, float] = Field((0.0, 1.0), description="[min, max] of an accepted reward")

    @field_validator("reward_range")
    @classmethod
    def _ordered(cls, v):
        lo, hi = v
        if not lo < hi or max(abs(lo), abs(hi)) > 1e12:
            raise ValueError("reward_range must be [min, max] with min < max, both within ±1e12")
        return v


class _BetaPriorConfig(_PolicyConfig):
    """Beta posteriors: a prior and rewards in [0, 1]."""

    prior_alpha: float = Field(1.0, gt=0)
    prior_beta: float = Field(1.0, gt=0)

    @field_validator("reward_range")
    @classmethod
    def _unit(cls, v):
        if v[0] < 0 or v[1] > 1:
            kind = cls.model_fields["kind"].default or "this policy"
            raise ValueError(f"{kind} takes rewards in [0, 1]: reward_range must lie within [0, 1]")
        return v


class BetaTSConfig(_BetaPriorConfig):
    kind: Literal["beta_ts"] = "beta_ts"


class GaussianTSConfig(_PolicyConfig):
    kind: Literal["gaussian_ts"]
    prior_mean: float = 0.0
    prior_strength: float = Field(1.0, gt=0, description="pseudo-observations behind the prior mean")
    noise_sd: float = Field(1.0, gt=0, description="reward noise scale used before data arrives")


class UCB1Config(_PolicyConfig):
    kind: Literal["ucb1"]
    c: float = Field(math.sqrt(2), gt=0)


class EpsilonGreedyConfig(_PolicyConfig):
    kind: Literal["epsilon_greedy"]
    epsilon: float = Field(0.1, ge=0, le=1)


class UniformConfig(_PolicyConfig):
    kind: Literal["uniform"]


class TopTwoTSConfig(_BetaPriorConfig):
    kind: Literal["top_two_ts"] = "top_two_ts"
    leader_prob: float = Field(0.5, gt=0, lt=1, description="share of decisions that go to the posterior's leader")
    exploration_floor: float = Field(0.0, ge=0, lt=1, description="share of decisions drawn uniformly")


PolicyConfigBase = _PolicyConfig  # public: the base of a policy config registered from outside (reward_range, discount)


class Policy:
    """Sufficient statistics per arm: pulls ``n``, reward sum ``s`` and sum of squares ``ss``.
    ``contextual`` policies also take the request's features (``context=``) in ``select``,
    ``propensity`` and ``update``."""

    name = "policy"
    contextual = False

    def __init__(self, cfg):
        self.cfg = cfg
        self.n = np.zeros(0)
        self.s = np.zeros(0)
        self.ss = np.zeros(0)
        self.active = np.zeros(0, dtype=bool)
        self._updates = 0  # rewards applied: the propensity cache's clock
        self._share_cache: dict = {}

    # ---- arms ------------------------------------------------------------------------------------
    def add_arm(self) -> int:
        self._share_cache = {}
        self.n = np.append(self.n, 0.0)
        self.s = np.append(self.s, 0.0)
        self.ss = np.append(self.ss, 0.0)
        self.active = np.append(self.active, True)
        return len(self.n) - 1

    def retire_arm(self, index: int) -> None:
        self._share_cache = {}
        self.active[index] = False

    @property
    def n_arms(self) -> int:
        return len(self.n)

    def _check(self, allowed=None) -> np.ndarray:
        idx = np.flatnonzero(self.active) if allowed is None else np.asarray(allowed, dtype=int)
        if idx.size == 0:
            raise ValueError("no active arms")
        return idx

    def posterior_draws(self, rng: np.random.Generator, draws: int = 2000) -> np.ndarray:
        """(arms, draws) samples of each arm's mean reward; this default is a normal approximation of
        the sample mean (unit variance before an arm has two rewards)."""
        n = np.maximum(self.n, 1e-12)
        mean = np.where(self.n > 0, self.s / n, 0.0)
        var = np.where(self.n >= 2, np.maximum(self.ss / n - mean ** 2, 1e-12) * self.n / np.maximum(self.n - 1, 1e-12), 1.0)
        sd = np.sqrt(var / np.maximum(self.n, 1.0))
        return rng.normal(mean[:, None], sd[:, None], size=(self.n_arms, draws))

    # ---- learning ---------------------------------------------------------------------------------
    def check_reward(self, value) -> float:
        """``value`` as a float if this policy accepts it: finite and within ``cfg.reward_range``;
        ``ValueError`` (a one-line reason) otherwise."""
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"reward must be a number, not {value!r}") from None
        if not math.isfinite(value):
            raise ValueError("reward must be a finite number")
        lo, hi = self.cfg.reward_range
        if not lo <= value <= hi:
            raise ValueError(f"reward {value:g} is outside [{lo:g}, {hi:g}] (the {self.name} policy's reward_range)")
        return value

    def update(self, index: int, reward: float) -> None:
        self._updates += 1
        factor, increments = discounted_updates(self.cfg.discount, [(index, reward)])
        if factor < 1.0:
            self.n *= factor
            self.s *= factor
            self.ss *= factor
        dn, ds, dss = increments[index]
        self.n[index] += dn
        self.s[index] += ds
        self.ss[index] += dss

    def means(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > 0, self.s / np.maximum(self.n, 1e-12), np.nan)

    def select(self, rng: np.random.Generator, allowed=None) -> int:
        raise NotImplementedError

    def propensity(self, rng: np.random.Generator, chosen: int, allowed=None) -> float:
        """P(``select`` returns ``chosen``) over ``allowed``: the cached selection shares (recomputed
        once the rewards since exceed 5% of the evidence), floored at 1 / ``PROPENSITY_DRAWS``."""
        key = None if allowed is None else tuple(int(a) for a in allowed)
        hit = self._share_cache.get(key)
        if hit is None or self._updates - hit[0] > 0.05 * hit[1] + 1:
            idx = self._check(allowed)
            shares = np.zeros(self.n_arms)
            shares[idx[0]] = 1.0
            if idx.size > 1:
                shares = self.selection_shares(rng, idx)
            hit = (self._updates, float(self.n.sum()), shares)
            self._share_cache[key] = hit
        return max(float(hit[2][chosen]), 1.0 / PROPENSITY_DRAWS)

    def selection_shares(self, rng: np.random.Generator, idx: np.ndarray) -> np.ndarray:
        """The share of selections each arm gets among ``idx``; this default repeats ``select`` 512
        times (Thompson policies draw from their posteriors at once)."""
        out = np.zeros(self.n_arms)
        for _ in range(512):
            out[self.select(rng, idx)] += 1.0
        return out / 512

    def shares(self, rng: np.random.Generator, draws: int = 2000) -> np.ndarray:
        """Estimated probability that each arm is selected next (Monte Carlo for random policies)."""
        counts = np.zeros(self.n_arms)
        for _ in range(draws):
            counts[self.select(rng)] += 1
        return counts / draws

    def _argmax_shares(self, idx: np.ndarray, samples: np.ndarray) -> np.ndarray:
        """Share of posterior draws (columns of ``samples``, rows = active arms ``idx``) each arm wins."""
        out = np.zeros(self.n_arms)
        np.add.at(out, idx[np.argmax(samples, axis=0)], 1.0)
        return out / samples.shape[1]

    def summary(self) -> list[dict]:
        means = self.means()
        return [{"pulls": float(self.n[i]), "mean_reward": None if np.isnan(means[i]) else float(means[i]),
                 "active": bool(self.active[i])} for i in range(self.n_arms)]

    def state_dict(self) -> dict:
        return {"n": self.n.tolist(), "s": self.s.tolist(), "ss": self.ss.tolist(), "active": self.active.tolist()}

    def load_state_dict(self, state: dict) -> None:
        """Restore statistics; ``ValueError`` for non-finite or negative pull counts (a corrupt store)."""
        n, s, ss = (np.array(state[k], dtype=float) for k in ("n", "s", "ss"))
        if not (np.isfinite(n).all() and np.isfinite(s).all() and np.isfinite(ss).all()) or (n < 0).any():
            raise ValueError("arm statistics are not finite (or pulls are negative): the store is corrupt")
        self.n, self.s, self.ss = n, s, ss
        self.active = np.array(state["active"], dtype=bool)
        self._share_cache = {}


class BetaThompson(Policy):
    """Bernoulli rewards in [0, 1] (fractional rewards count as partial successes).

    The hot path (``select``/``update`` without discounting) keeps alpha/beta as Python floats and
    draws one exact scalar beta per active arm: for a handful of arms that is about twice as fast as
    numpy's vectorized ``beta`` on small arrays (measured in ``benchmarks/bench_bandit.py``)."""

    name = "beta_ts"

    def __init__(self, cfg):
        super().__init__(cfg)
        self._a: list[float] = []
        self._b: list[float] = []
        self._active: list[int] = []

    def add_arm(self) -> int:
        i = super().add_arm()
        self._a.append(self.cfg.prior_alpha)
        self._b.append(self.cfg.prior_beta)
        self._active.append(i)
        return i

    def retire_arm(self, index: int) -> None:
        super().retire_arm(index)
        self._active = [i for i in self._active if i != index]

    def update(self, index: int, reward: float) -> None:
        if self.cfg.discount < 1.0:
            super().update(index, reward)
            self._sync()
            return
        self._updates += 1
        self.n[index] += 1.0
        self.s[index] += reward
        self.ss[index] += reward * reward
        self._a[index] += reward
        self._b[index] += 1.0 - reward

    def _sync(self) -> None:
        self._a = (self.cfg.prior_alpha + self.s).tolist()
        self._b = (self.cfg.prior_beta + (self.n - self.s)).tolist()
        self._active = np.flatnonzero(self.active).tolist()

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self._sync()

    def select(self, rng, allowed=None):
        arms = self._active if allowed is None else allowed
        if not arms:
            raise ValueError("no active arms")
        beta, a, b = rng.beta, self._a, self._b
        best, best_draw = -1, -1.0
        for i in arms:
            draw = beta(a[i], b[i])
            if draw > best_draw:
                best, best_draw = i, draw
        return best

    def _ab(self):
        return np.array(self._a), np.array(self._b)

    def posterior_draws(self, rng, draws: int = 2000):
        a, b = self._ab()
        return rng.beta(a[:, None], b[:, None], size=(self.n_arms, draws))

    def selection_shares(self, rng, idx):
        a, b = self._ab()
        return mc_shares(idx, lambda i, d: rng.beta(a[i][:, None], b[i][:, None], size=(i.size, d)), self.n_arms)

    def shares(self, rng, draws: int = 4000):
        idx = self._check()
        a, b = self._ab()
        return self._argmax_shares(idx, rng.beta(a[idx][:, None], b[idx][:, None], size=(idx.size, draws)))

    def summary(self):
        a, b = self._ab()
        rows = super().summary()
        for i, row in enumerate(rows):
            mean = a[i] / (a[i] + b[i])
            var = a[i] * b[i] / ((a[i] + b[i]) ** 2 * (a[i] + b[i] + 1))
            row.update({"posterior": "beta", "alpha": float(a[i]), "beta": float(b[i]),
                        "posterior_mean": float(mean), "posterior_sd": float(math.sqrt(var))})
        return rows


class GaussianThompson(Policy):
    """Continuous rewards: a normal posterior on each arm's mean, with the noise scale estimated from
    the arm's own rewards once it has two or more (``noise_sd`` before that)."""

    name = "gaussian_ts"

    def _posterior(self):
        k = self.cfg.prior_strength
        n = self.n
        mean = (k * self.cfg.prior_mean + self.s) / (k + n)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = np.where(n >= 2, (self.ss - self.s ** 2 / np.maximum(n, 1e-12)) / np.maximum(n - 1, 1e-12),
                           self.cfg.noise_sd ** 2)
        sd = np.sqrt(np.maximum(var, 1e-12) / (k + n))
        return mean, sd

    def select(self, rng, allowed=None):
        idx = self._check(allowed)
        mean, sd = self._posterior()
        draws = rng.normal(mean[idx], sd[idx])
        return int(idx[int(np.argmax(draws))])

    def posterior_draws(self, rng, draws: int = 2000):
        mean, sd = self._posterior()
        return rng.normal(mean[:, None], sd[:, None], size=(self.n_arms, draws))

    def selection_shares(self, rng, idx):
        mean, sd = self._posterior()
        return mc_shares(idx, lambda i, d: rng.normal(mean[i][:, None], sd[i][:, None], size=(i.size, d)),
                         self.n_arms)

    def shares(self, rng, draws: int = 4000):
        idx = self._check()
        mean, sd = self._posterior()
        return self._argmax_shares(idx, rng.normal(mean[idx][:, None], sd[idx][:, None], size=(idx.size, draws)))

    def summary(self):
        mean, sd = self._posterior()
        rows = super().summary()
        for i, row in enumerate(rows):
            row.update({"posterior": "normal", "posterior_mean": float(mean[i]), "posterior_sd": float(sd[i])})
        return rows


class UCB1(Policy):
    name = "ucb1"

    def select(self, rng, allowed=None):
        idx = self._check(allowed)
        n = self.n[idx]
        untried = np.flatnonzero(n < 1e-12)
        if untried.size:
            return int(idx[untried[0]])
        total = n.sum()
        bonus = self.cfg.c * np.sqrt(np.log(total) / n)
        return int(idx[int(np.argmax(self.s[idx] / n + bonus))])

    def shares(self, rng, draws: int = 1):
        out = np.zeros(self.n_arms)
        out[self.select(rng)] = 1.0
        return out

    def propensity(self, rng, chosen, allowed=None):
        return 1.0 if self.select(rng, allowed) == chosen else 0.0  # deterministic given the statistics


class EpsilonGreedy(Policy):
    name = "epsilon_greedy"

    def select(self, rng, allowed=None):
        idx = self._check(allowed)
        if rng.random() < self.cfg.epsilon or np.all(self.n[idx] < 1e-12):
            return int(idx[int(rng.integers(idx.size))])
        means = np.where(self.n[idx] > 0, self.s[idx] / np.maximum(self.n[idx], 1e-12), -np.inf)
        return int(idx[int(np.argmax(means))])

    def propensity(self, rng, chosen, allowed=None):
        idx = self._check(allowed)
        explore = 1.0 / idx.size
        if np.all(self.n[idx] < 1e-12):
            return explore
        means = np.where(self.n[idx] > 0, self.s[idx] / np.maximum(self.n[idx], 1e-12), -np.inf)
        greedy = int(idx[int(np.argmax(means))])
        return self.cfg.epsilon * explore + (1.0 - self.cfg.epsilon) * (chosen == greedy)


class Uniform(Policy):
    name = "uniform"

    def select(self, rng, allowed=None):
        idx = self._check(allowed)
        return int(idx[int(rng.integers(idx.size))])

    def propensity(self, rng, chosen, allowed=None):
        return 1.0 / self._check(allowed).size


class TopTwoThompson(BetaThompson):
    """Top-two Thompson sampling for best-arm identification (``bandit.winner``): the leader of a
    posterior draw with probability ``leader_prob``, else its challenger, the arm the data least
    separate from the leader (smallest transportation cost, the GLR statistic: "T3C", Shang et al.,
    "Fixed-confidence guarantees for Bayesian best-arm identification", AISTATS 2020). Unlike Russo's
    re-sampling challenger, a clearly worse arm that has few samples keeps getting them, so the GLR
    stopping rule is never left waiting on a starved arm. Plus ``exploration_floor`` uniform traffic."""

    name = "top_two_ts"

    def _challenger(self, leader: int, arms) -> int:
        from bandit.winner import glr_pair

        n, s = self.n, self.s
        mu = np.where(n > 0, s / np.maximum(n, 1e-12), 0.5)
        costs = [(glr_pair(n[leader], mu[leader], n[j], mu[j]), j) for j in arms if j != leader]
        return min(costs)[1]

    def select(self, rng, allowed=None):
        arms = list(self._active if allowed is None else allowed)
        if not arms:
            raise ValueError("no active arms")
        if len(arms) == 1:
            return arms[0]
        if self.cfg.exploration_floor and rng.random() < self.cfg.exploration_floor:
            return arms[int(rng.integers(len(arms)))]
        leader = super().select(rng, arms)
        if rng.random() < self.cfg.leader_prob:
            return leader
        return self._challenger(leader, arms)

    def selection_shares(self, rng, idx):
        """Exact given the leader shares q: leader_prob q_i + (1 - leader_prob) sum of q_l over the
        leaders l whose challenger is i; then the exploration floor."""
        q = super().selection_shares(rng, idx)
        out = self.cfg.leader_prob * q
        for leader in idx:
            if q[leader] > 0:
                out[self._challenger(int(leader), idx)] += (1 - self.cfg.leader_prob) * q[leader]
        out[idx] = (1 - self.cfg.exploration_floor) * out[idx] + self.cfg.exploration_floor / len(idx)
        return out


class LinearTSConfig(_PolicyConfig):
    kind: Literal["linear_ts"]
    features: list[str] = Field(min_length=1, max_length=32, description="request features the policy reads")
    hash_dims: int = Field(32, ge=2, le=512, description="buckets the encoded features are hashed into")
    prior_precision: float = Field(1.0, gt=0, description="ridge prior (lambda) on each arm's weights")
    noise_sd: float = Field(0.5, gt=0, description="scale of the posterior draws (v)")


def encode_features(features: dict | None, cfg) -> np.ndarray:
    """The documented encoding of ``linear_ts``: a bias 1.0, then ``hash_dims`` buckets; for each named
    feature, a number (not a bool) adds its value to the bucket of ``name``, any other value adds 1.0 to
    the bucket of ``name=value`` (blake2b, stable across processes). Missing features add nothing."""
    import hashlib

    x = np.zeros(cfg.hash_dims + 1)
    x[0] = 1.0
    for name in cfg.features:
        value = (features or {}).get(name)
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            key, amount = name, float(value)
        else:
            key, amount = f"{name}={value}", 1.0
        bucket = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") % cfg.hash_dims
        x[1 + bucket] += amount
    return x


class LinearThompson(Policy):
    """Contextual Thompson sampling: a Bayesian linear regression of the reward on the encoded request
    features per arm (``encode_features``): precision ``A = lambda I + sum x x^T``, ``b = sum r x``; a
    decision draws each arm's score from its posterior at ``x``, N(x^T A^-1 b, v^2 x^T A^-1 x), and takes
    the best (the scores are 1-D, so the draw is exact and cheap). Propensities: Monte Carlo over those
    draws for the request's ``x``. The router rebuilds ``A`` and ``b`` from the store's rewarded decisions
    (``fit``), so every router process and a restart learn the same model; ``n``/``s``/``ss`` still count
    each arm's rewards for status and rollout."""

    name = "linear_ts"
    contextual = True

    def __init__(self, cfg):
        super().__init__(cfg)
        self.dim = cfg.hash_dims + 1
        self.A = np.zeros((0, self.dim, self.dim))
        self.b = np.zeros((0, self.dim))

    def add_arm(self) -> int:
        i = super().add_arm()
        self.A = np.concatenate([self.A, self.cfg.prior_precision * np.eye(self.dim)[None]])
        self.b = np.concatenate([self.b, np.zeros((1, self.dim))])
        return i

    def _x(self, context):
        return context if isinstance(context, np.ndarray) else encode_features(context, self.cfg)

    def _score_dist(self, idx: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        solve = np.linalg.solve(self.A[idx], np.stack([self.b[idx], np.broadcast_to(x, (idx.size, self.dim))], axis=2))
        mean = solve[:, :, 0] @ x
        var = np.einsum("i,ki->k", x, solve[:, :, 1])
        return mean, self.cfg.noise_sd * np.sqrt(np.maximum(var, 1e-12))

    def select(self, rng, allowed=None, context=None):
        idx = self._check(allowed)
        mean, sd = self._score_dist(idx, self._x(context))
        return int(idx[int(np.argmax(rng.normal(mean, sd)))])

    def propensity(self, rng, chosen, allowed=None, context=None):
        idx = self._check(allowed)
        if idx.size == 1:
            return 1.0
        mean, sd = self._score_dist(idx, self._x(context))
        draws = rng.normal(mean[:, None], sd[:, None], size=(idx.size, PROPENSITY_DRAWS))
        wins = int(np.count_nonzero(idx[np.argmax(draws, axis=0)] == chosen))
        return max(wins, 1) / PROPENSITY_DRAWS

    def update(self, index: int, reward: float, context=None) -> None:
        super().update(index, reward)
        x = self._x(context)
        self.A[index] += np.outer(x, x)
        self.b[index] += reward * x

    def fit(self, rows) -> None:
        """Rebuild ``A`` and ``b`` from ``(arm index, features, reward)`` rows (the store's log)."""
        self.A[:] = self.cfg.prior_precision * np.eye(self.dim)
        self.b[:] = 0.0
        for i, features, reward in rows:
            x = encode_features(features, self.cfg)
            self.A[i] += np.outer(x, x)
            self.b[i] += reward * x

    def posterior_draws(self, rng, draws: int = 2000):
        """Each arm's mean reward at the bias-only context (no request features)."""
        x = np.zeros(self.dim)
        x[0] = 1.0
        idx = np.arange(self.n_arms)
        mean, sd = self._score_dist(idx, x) if self.n_arms else (np.zeros(0), np.zeros(0))
        return rng.normal(mean[:, None], sd[:, None], size=(self.n_arms, draws))

    def state_dict(self) -> dict:
        return {**super().state_dict(), "A": self.A.tolist(), "b": self.b.tolist()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if "A" in state:
            self.A, self.b = np.array(state["A"], dtype=float), np.array(state["b"], dtype=float)


# Adding a policy = its config (a PolicyConfigBase) and class (a Policy), here or in any module, then
# ``POLICIES.register(kind, Entry(config, cls))`` (or an ``evo.policies`` entry point: ``evo.registry``).
POLICIES = Registry("policies", {
    "beta_ts": Entry(BetaTSConfig, BetaThompson),
    "gaussian_ts": Entry(GaussianTSConfig, GaussianThompson),
    "ucb1": Entry(UCB1Config, UCB1),
    "epsilon_greedy": Entry(EpsilonGreedyConfig, EpsilonGreedy),
    "uniform": Entry(UniformConfig, Uniform),
    "top_two_ts": Entry(TopTwoTSConfig, TopTwoThompson),
    "linear_ts": Entry(LinearTSConfig, LinearThompson),
})

PolicyConfig = POLICIES.config_type


def build_policy(cfg) -> Policy:
    return POLICIES[cfg.kind].build(cfg)
