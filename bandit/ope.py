"""Off-policy evaluation: a candidate's value estimated from the router's logged decisions.

Every decision logs the probability ``p_i`` with which its arm was chosen (``Policy.propensity``).
For a target policy ``pi`` (the probability ``pi(a | x_i)`` of serving arm ``a`` on decision ``i``) and
importance weights ``w_i = pi(a_i | x_i) / p_i``:

- IPS (inverse propensity scoring): ``mean(w_i r_i)``; unbiased, high variance.
- SNIPS (self-normalized IPS): ``sum(w_i r_i) / sum(w_i)``; slightly biased, much lower variance.
- DR (doubly robust): ``mean(sum_a pi(a | x_i) q(x_i, a) + w_i (r_i - q(x_i, a_i)))`` with the direct
  method ``q``: the trained reward model (``bandit.reward_model``) when given, else each arm's mean
  logged reward. Unbiased when either the propensities or ``q`` are right.
- DM (direct method): ``mean(sum_a pi(a | x_i) q(x_i, a))``; the only estimate for a prompt that was
  never served (no decision supports it), and only as good as ``q``.

95% intervals are percentile bootstraps over decisions (seeded); ``ess`` is the effective sample size
``(sum w)^2 / sum w^2``: with few effective samples every estimate is weak. Decisions logged without a
propensity (before schema version 3) are left out and counted. Targets: ``always(arm)`` (a prompt
served to all traffic) or a policy's selection probabilities under the store's current statistics (a
static snapshot of the policy, not its learning; documented in docs/router.md). These are the
estimators of Vowpal Wabbit's ``--cb_type ips|dr`` and of Dudik, Langford and Li (2011).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ESTIMATORS = ("ips", "snips", "dr", "dm")


@dataclass(frozen=True)
class LoggedData:
    """The rewarded decisions with a propensity, as arrays (``arm`` indexes ``arm_ids``)."""

    arm_ids: list[str]
    arm: np.ndarray
    reward: np.ndarray
    propensity: np.ndarray
    features: list[dict]
    skipped: int  # rewarded decisions without a propensity

    @classmethod
    def from_logs(cls, logs: list[dict], arm_ids: list[str]) -> "LoggedData":
        index = {a: i for i, a in enumerate(arm_ids)}
        usable = [r for r in logs if r.get("propensity") and r["arm_id"] in index]
        return cls(arm_ids, np.array([index[r["arm_id"]] for r in usable], dtype=int),
                   np.array([r["reward"] for r in usable], dtype=float),
                   np.array([r["propensity"] for r in usable], dtype=float),
                   [r.get("features") or {} for r in usable], len(logs) - len(usable))

    @property
    def n(self) -> int:
        return len(self.arm)


def arm_means_q(data: LoggedData, rows: np.ndarray | None = None) -> np.ndarray:
    """(len(rows) x arms) direct-method predictions fitted on ``rows`` (default: all decisions): each
    arm's mean logged reward (the overall mean for an arm never rewarded). As a callable ``q`` of
    ``evaluate`` it is refitted on every bootstrap resample, so DM and DR intervals include its error."""
    rows = np.arange(data.n) if rows is None else rows
    reward, arm = data.reward[rows], data.arm[rows]
    overall = float(reward.mean()) if rows.size else 0.0
    means = np.full(len(data.arm_ids), overall)
    for a in range(len(data.arm_ids)):
        hit = arm == a
        if hit.any():
            means[a] = reward[hit].mean()
    return np.tile(means, (rows.size, 1))


def model_q(data: LoggedData, model, genomes: list) -> np.ndarray:
    """(decisions x arms) predictions of a trained ``RewardModel`` for each arm's genome and each
    decision's request features."""
    from bandit.reward_model import genome_features, request_features

    per_genome = [genome_features(g) for g in genomes]
    rows = [{**gf, **request_features(f)} for f in data.features for gf in per_genome]
    return np.asarray(model.predict_rows(rows), dtype=float).reshape(data.n, len(genomes))


def _point(pi: np.ndarray, q, data: LoggedData, rows: np.ndarray) -> dict:
    arm, r, p = data.arm[rows], data.reward[rows], data.propensity[rows]
    w = pi[rows, arm] / p
    q_rows = q(data, rows) if callable(q) else q[rows]
    dm_part = (pi[rows] * q_rows).sum(axis=1)
    q_logged = q_rows[np.arange(rows.size), arm]
    total_w = w.sum()
    return {"ips": float((w * r).mean()), "snips": float((w * r).sum() / total_w) if total_w > 0 else float("nan"),
            "dr": float((dm_part + w * (r - q_logged)).mean()), "dm": float(dm_part.mean())}


def evaluate(pi: np.ndarray, q, data: LoggedData, *, resamples: int = 1000, seed: int = 0) -> dict:
    """Every estimator's value and bootstrap 95% CI for the target ``pi`` (decisions x arms) with the
    direct method ``q``: a (decisions x arms) array (fixed, e.g. a trained reward model's predictions) or
    a function ``q(data, rows)`` refitted on each resample (``arm_means_q``); ``ValueError`` without
    usable decisions."""
    if data.n == 0:
        raise ValueError("no rewarded decision with a logged propensity: nothing to estimate from")
    everything = np.arange(data.n)
    point = _point(pi, q, data, everything)
    rng = np.random.default_rng(seed)
    boot = {k: [] for k in ESTIMATORS}
    for _ in range(resamples):
        sample = _point(pi, q, data, rng.integers(data.n, size=data.n))
        for k in ESTIMATORS:
            boot[k].append(sample[k])
    w = pi[everything, data.arm] / data.propensity
    supported = bool((pi[:, np.unique(data.arm)] > 0).any())
    out = {"n": data.n, "skipped_without_propensity": data.skipped,
           "ess": float(w.sum() ** 2 / (w ** 2).sum()) if (w ** 2).sum() > 0 else 0.0,
           "supported": supported, "estimates": {}}
    for k in ESTIMATORS:
        values = np.array(boot[k])
        values = values[np.isfinite(values)]
        lo, hi = (np.quantile(values, [0.025, 0.975]) if values.size else (float("nan"), float("nan")))
        out["estimates"][k] = {"value": point[k], "ci95": [float(lo), float(hi)]}
    return out


def always(arm: int, data: LoggedData) -> np.ndarray:
    """The target that serves ``arm`` to every request."""
    pi = np.zeros((data.n, len(data.arm_ids)))
    pi[:, arm] = 1.0
    return pi


def policy_target(policy, active: list[int], data: LoggedData, seed: int = 0) -> np.ndarray:
    """A policy's selection probabilities over the active arms under its current statistics (the same
    row for every decision: the router's policies do not use request features)."""
    rng = np.random.default_rng(seed)
    row = np.zeros(len(data.arm_ids))
    for a in active:
        row[a] = policy.propensity(rng, a, active)
    row /= row.sum()
    return np.tile(row, (data.n, 1))


def read_candidate(path):
    """``("policy", config)`` for a policy YAML (a mapping with a policy ``kind``) or ``("genome",
    PromptGenome)`` for a genome JSON/YAML (``best_genome.json`` of a run); ``ConfigError`` otherwise."""
    from pydantic import TypeAdapter, ValidationError

    from bandit.policies import POLICIES, PolicyConfig
    from evo.config_base import read_mapping
    from evo.errors import ConfigError, pydantic_error_to_config_error
    from evo.genome import PromptGenome

    raw = read_mapping(path, "a candidate (a genome or a policy config)")
    try:
        if raw.get("kind") in POLICIES:
            return "policy", TypeAdapter(PolicyConfig).validate_python(raw)
        if "instruction" in raw:
            return "genome", PromptGenome.from_json(raw)
    except ValidationError as exc:
        raise pydantic_error_to_config_error(path, exc) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(path, f"not a genome: {exc}") from None
    raise ConfigError(path, f"neither a genome (no `instruction`) nor a policy config (kind one of {list(POLICIES)})")


def evaluate_candidate(store, candidate, *, reward_model=None, resamples: int = 1000, seed: int = 0) -> dict:
    """The candidate's and production's estimates from ``store``'s logs, and whether the candidate's DR
    lower bound clears production's DR value (``lift``). ``candidate``: what ``read_candidate`` returns.
    ``ValueError`` with the reason when the logs cannot say (no production arm, no usable decision, a
    never-served genome without a reward model)."""
    from bandit.policies import build_policy
    from evo.genome import PromptGenome

    arms = store.arms()
    production = next((a for a in arms if a.production and a.active), None)
    if production is None:
        raise ValueError("the store has no active production arm to compare with")
    kind, value = candidate
    ids = [a.id for a in arms]
    genomes = [PromptGenome.from_json(a.genome) for a in arms]
    served = None
    if kind == "genome":
        served = next((i for i, g in enumerate(genomes) if g.id == value.id), None)
        if served is None:
            if reward_model is None:
                raise ValueError("the candidate was never served, so no logged decision supports it: give a "
                                 "reward model (--reward-model) to estimate it with the direct method, or deploy "
                                 "it behind a small rollout cap first")
            ids, genomes = ids + [f"candidate:{value.id}"], genomes + [value]
    data = LoggedData.from_logs(store.logs(), ids)
    q = model_q(data, reward_model, genomes) if reward_model is not None else arm_means_q
    if kind == "genome":
        target = always(served if served is not None else len(ids) - 1, data)
        label = f"genome {value.id}" + ("" if served is not None else " (never served: direct method only)")
    else:
        policy = build_policy(value)
        for _ in arms:
            policy.add_arm()
        policy.load_state_dict({"n": [a.n for a in arms], "s": [a.s for a in arms], "ss": [a.ss for a in arms],
                                "active": [a.active for a in arms]})
        target = policy_target(policy, [i for i, a in enumerate(arms) if a.active], data, seed)
        label = f"policy {value.kind}"
    cand = evaluate(target, q, data, resamples=resamples, seed=seed)
    prod = evaluate(always(ids.index(production.id), data), q, data, resamples=resamples, seed=seed)
    estimator = "dr"
    lower = cand["estimates"][estimator]["ci95"][0]
    baseline = prod["estimates"][estimator]["value"]
    return {"candidate": label, "production": production.id, "direct_method": "reward model" if reward_model
            else "arm means", "estimator": estimator, "candidate_estimates": cand, "production_estimates": prod,
            "lift": bool(lower >= baseline), "lift_rule": f"candidate {estimator} 95% lower bound {lower:.4f} vs "
                                                         f"production {estimator} {baseline:.4f}"}
