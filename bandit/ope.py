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

95% intervals. The router's logs are collected adaptively (each decision's propensity depends on the
rewards before it), so decisions are not i.i.d. and a bootstrap over decisions under-covers when the
logging policy starves an arm for a while. Each estimator is instead a mean (or ratio of means) of
per-decision terms whose conditional mean given the past is the target's value, a martingale: IPS and
DR get normal intervals from the sample variance of their terms, SNIPS from the delta method (the
variance of ``w_i (r_i - value)`` over ``sum w``), and DR's direct method ``q`` is the forward fit: row
``i`` uses only decisions before ``i`` (the "adaptive" AIPW of Hadad et al. 2021, PNAS 118(15), with
unit weights), so its terms keep that property. DM, with arm means refitted on each resample, keeps a
seeded percentile bootstrap. Measured in ``benchmarks/bench_ope.py`` (Thompson-sampling logs, 400
seeds). ``ess`` is the effective sample size ``(sum w)^2 / sum w^2``: with few effective samples every
estimate is weak. Decisions logged without a propensity (before schema version 3) are left out and
counted. Targets: ``always(arm)`` (a prompt served to all traffic) or a policy's selection
probabilities under the store's current statistics (a static snapshot of the policy, not its learning;
documented in docs/router.md). These are the estimators of Vowpal Wabbit's ``--cb_type ips|dr`` and of
Dudik, Langford and Li (2011).
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
    arm's mean logged reward (the overall mean for an arm never rewarded). ``evaluate`` refits it on
    every bootstrap resample of DM, so DM's interval includes its error."""
    rows = np.arange(data.n) if rows is None else rows
    reward, arm = data.reward[rows], data.arm[rows]
    overall = float(reward.mean()) if rows.size else 0.0
    means = np.full(len(data.arm_ids), overall)
    for a in range(len(data.arm_ids)):
        hit = arm == a
        if hit.any():
            means[a] = reward[hit].mean()
    return np.tile(means, (rows.size, 1))


def forward_arm_means(data: LoggedData) -> np.ndarray:
    """(decisions x arms) arm means fitted on the decisions logged before each row (the overall mean
    before it for an arm not yet rewarded, 0 for the first row): a direct method that never sees the
    decision it predicts, as DR's martingale interval needs."""
    k = len(data.arm_ids)
    onehot = np.zeros((data.n, k))
    onehot[np.arange(data.n), data.arm] = 1.0
    counts = np.cumsum(onehot, axis=0) - onehot
    sums = np.cumsum(onehot * data.reward[:, None], axis=0) - onehot * data.reward[:, None]
    seen = np.arange(data.n, dtype=float)
    overall = np.divide(sums.sum(axis=1), seen, out=np.zeros(data.n), where=seen > 0)
    return np.where(counts > 0, sums / np.maximum(counts, 1.0), overall[:, None])


def model_q(data: LoggedData, model, genomes: list) -> np.ndarray:
    """(decisions x arms) predictions of a trained ``RewardModel`` for each arm's genome and each
    decision's request features."""
    from bandit.reward_model import genome_features, request_features

    per_genome = [genome_features(g) for g in genomes]
    rows = [{**gf, **request_features(f)} for f in data.features for gf in per_genome]
    return np.asarray(model.predict_rows(rows), dtype=float).reshape(data.n, len(genomes))


Z95 = 1.959963984540054


def _normal(value: float, se: float) -> dict:
    return {"value": value, "se": se, "ci95": [value - Z95 * se, value + Z95 * se]}


def _dm(pi: np.ndarray, q, data: LoggedData, rows: np.ndarray) -> float:
    q_rows = arm_means_q(data, rows) if q is None else q[rows]
    return float((pi[rows] * q_rows).sum(axis=1).mean())


def evaluate(pi: np.ndarray, q, data: LoggedData, *, resamples: int = 1000, seed: int = 0) -> dict:
    """Every estimator's value, standard error and 95% CI for the target ``pi`` (decisions x arms), in
    logged order. ``q``: the direct method as a (decisions x arms) array (a trained reward model's
    predictions), or ``None`` for arm means (forward-fitted for DR, refitted per resample for DM's
    bootstrap of ``resamples`` draws). ``ValueError`` without usable decisions."""
    if data.n == 0:
        raise ValueError("no rewarded decision with a logged propensity: nothing to estimate from")
    n, rows = data.n, np.arange(data.n)
    r = data.reward
    w = pi[rows, data.arm] / data.propensity
    ips_terms = w * r
    estimates = {"ips": _normal(float(ips_terms.mean()), float(ips_terms.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0)}
    total_w = w.sum()
    if total_w > 0:
        snips = float(ips_terms.sum() / total_w)
        estimates["snips"] = _normal(snips, float(np.sqrt((w ** 2 * (r - snips) ** 2).sum()) / total_w))
    else:
        estimates["snips"] = {"value": float("nan"), "se": float("nan"), "ci95": [float("nan"), float("nan")]}
    q_dr = forward_arm_means(data) if q is None else q
    dr_terms = (pi * q_dr).sum(axis=1) + w * (r - q_dr[rows, data.arm])
    estimates["dr"] = _normal(float(dr_terms.mean()), float(dr_terms.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0)
    rng = np.random.default_rng(seed)
    boot = np.array([_dm(pi, q, data, rng.integers(n, size=n)) for _ in range(resamples)])
    lo, hi = np.quantile(boot, [0.025, 0.975]) if boot.size else (float("nan"), float("nan"))
    estimates["dm"] = {"value": _dm(pi, q, data, rows), "se": float(boot.std(ddof=1)) if boot.size > 1 else 0.0,
                       "ci95": [float(lo), float(hi)]}
    supported = bool((pi[:, np.unique(data.arm)] > 0).any())
    return {"n": n, "skipped_without_propensity": data.skipped,
            "ess": float(total_w ** 2 / (w ** 2).sum()) if (w ** 2).sum() > 0 else 0.0,
            "supported": supported, "estimates": {k: estimates[k] for k in ESTIMATORS}}


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
    q = model_q(data, reward_model, genomes) if reward_model is not None else None
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
