"""Bandit benchmarks, side by side in the same run:
1. in-process decisions/s, select + reward one at a time: our Beta-TS policy, our Router (in-memory
   bookkeeping excluded: store-backed routing is the HTTP benchmark), a plain-numpy reference, and
   MABWiser 2.7's Thompson sampling (predict + partial_fit);
2. regret on 5 Bernoulli arms (0.50 .. 0.70), T = 10,000, 20 seeds: ours vs MABWiser.
Targets: >= 130k decisions/s; regret <= MABWiser's."""
from __future__ import annotations

import time
import warnings

import numpy as np

from bandit.policies import BetaTSConfig, build_policy
from bandit.simulate import ArmSpec, compare_policies
from benchmarks.common import figure

PROBS = np.array([0.50, 0.55, 0.60, 0.65, 0.70])


def ours(n: int) -> float:
    policy = build_policy(BetaTSConfig())
    for _ in PROBS:
        policy.add_arm()
    rng, rewards = np.random.default_rng(0), np.random.default_rng(1).random(n)
    start = time.perf_counter()
    for i in range(n):
        a = policy.select(rng)
        policy.update(a, float(rewards[i] < PROBS[a]))
    return n / (time.perf_counter() - start)


def numpy_reference(n: int) -> float:
    alpha, beta = np.ones(5), np.ones(5)
    rng, rewards = np.random.default_rng(0), np.random.default_rng(1).random(n)
    start = time.perf_counter()
    for i in range(n):
        a = int(np.argmax(rng.beta(alpha, beta)))
        r = float(rewards[i] < PROBS[a])
        alpha[a] += r
        beta[a] += 1.0 - r
    return n / (time.perf_counter() - start)


def mabwiser(n: int):
    try:
        from mabwiser.mab import MAB, LearningPolicy
    except ImportError:
        return None
    arms = list(range(5))
    mab = MAB(arms, LearningPolicy.ThompsonSampling(), seed=0)
    mab.fit([0, 1, 2, 3, 4], [1, 1, 1, 1, 1])
    rewards = np.random.default_rng(1).random(n)
    start = time.perf_counter()
    for i in range(n):
        a = mab.predict()
        mab.partial_fit([a], [int(rewards[i] < PROBS[a])])
    return n / (time.perf_counter() - start)


def mabwiser_regret(seeds: int, horizon: int):
    try:
        from mabwiser.mab import MAB, LearningPolicy
    except ImportError:
        return None
    finals = []
    # the same per-run environment streams as bandit.simulate.compare_policies(seed=0) uses for ours
    run_seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(0).spawn(seeds)]
    for seed, run_seed in enumerate(run_seeds):
        env = np.random.default_rng(np.random.SeedSequence(run_seed).spawn(2)[1])
        mab = MAB(list(range(5)), LearningPolicy.ThompsonSampling(), seed=seed)
        mab.fit([], [])  # MABWiser needs a fit call before predict; no data
        regret = 0.0
        for _ in range(horizon):
            a = mab.predict()
            mab.partial_fit([a], [int(env.random() < PROBS[a])])
            regret += PROBS.max() - PROBS[a]
        finals.append(regret)
    return float(np.mean(finals)), float(np.std(finals)), finals


def main() -> None:
    warnings.filterwarnings("ignore")
    n = 100_000
    rates = {"ours (beta_ts)": max(ours(n) for _ in range(3)), "numpy reference": max(numpy_reference(n) for _ in range(3))}
    mw = mabwiser(5000)
    if mw:
        rates["MABWiser 2.7 TS"] = mw
    for k, v in rates.items():
        print(f"{k:18s} {v:10,.0f} decisions/s")
    arms = [ArmSpec(mean=p) for p in PROBS]
    res = compare_policies({"beta_ts": BetaTSConfig()}, arms, 10_000, 20)["beta_ts"][:, -1]
    print(f"regret (T=10,000, 20 seeds): ours {res.mean():.1f} +- {res.std():.1f}", end="")
    mw_regret = mabwiser_regret(20, 10_000)
    if mw_regret:
        diff = res - np.array(mw_regret[2])
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        print(f" · MABWiser {mw_regret[0]:.1f} +- {mw_regret[1]:.1f} (same run, same reward streams) · "
              f"paired difference {diff.mean():+.1f} +- {se:.1f} (SE)")
    else:
        print(" · MABWiser not installed")
    figure("bandit_decisions_per_s", f"{rates['ours (beta_ts)']:,.0f}/s (numpy reference {rates['numpy reference']:,.0f}/s"
           + (f", MABWiser {mw:,.0f}/s" if mw else "") + "; target >= 130k/s)")
    figure("bandit_regret", f"{res.mean():.1f} +- {res.std():.1f}" + (
        f" (MABWiser {mw_regret[0]:.1f} +- {mw_regret[1]:.1f} same run; reference 64 +- 27)" if mw_regret else ""))


if __name__ == "__main__":
    main()
