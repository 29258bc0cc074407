"""Contextual routing where the best prompt differs by segment: cumulative regret at T = 20,000.

Scenario: 4 segments (e.g. language x tier), 4 prompts; each segment has its own best prompt
(0.70 against 0.45-0.55 for the others). 20 seeds; every method sees the same reward streams
(``bandit.simulate.segment_streams``). Compared: one global Beta-TS policy (the router without
segments), per-segment Beta-TS with shrinkage (``segment_by``; rebuilt every 200 decisions like a
router's refresh), and MABWiser 2.7's LinTS on the one-hot segment (its contextual Thompson sampling;
predict and partial_fit in batches of 20 decisions, as it is slow per decision).
Goal (issue 29): segments' regret <= 0.5x global TS and <= MABWiser LinTS."""
from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from bandit.policies import BetaTSConfig, LinearTSConfig
from bandit.simulate import segment_streams, simulate_contextual, simulate_segments
from benchmarks.common import figure

MEANS = np.array([[0.70, 0.50, 0.45, 0.55],
                  [0.50, 0.70, 0.55, 0.45],
                  [0.45, 0.55, 0.70, 0.50],
                  [0.55, 0.45, 0.50, 0.70]])


def mabwiser_lints(horizon: int, seed: int, batch: int = 20, alpha: float = 1.0) -> np.ndarray:
    from mabwiser.mab import MAB, LearningPolicy

    segments, draws = segment_streams(MEANS, horizon, seed)
    contexts = np.eye(MEANS.shape[0])[segments]
    arms = list(range(MEANS.shape[1]))
    mab = MAB(arms, LearningPolicy.LinTS(alpha=alpha), seed=seed)
    # MABWiser must be fitted before it predicts: one decision per arm on the first contexts
    warm = np.arange(len(arms))
    mab.fit(decisions=warm, rewards=(draws[warm, warm] < MEANS[segments[warm], warm]).astype(float),
            contexts=contexts[warm])
    regret, total = np.empty(horizon), 0.0
    for start in range(0, horizon, batch):
        stop = min(start + batch, horizon)
        chosen = np.atleast_1d(mab.predict(contexts[start:stop])).astype(int)
        rewards = (draws[np.arange(start, stop), chosen] < MEANS[segments[start:stop], chosen]).astype(float)
        mab.partial_fit(chosen, rewards, contexts[start:stop])
        for j, t in enumerate(range(start, stop)):
            g = segments[t]
            total += MEANS[g].max() - MEANS[g, chosen[j]]
            regret[t] = total
    return regret


def main(seeds: int = 20, horizon: int = 20_000) -> None:
    warnings.filterwarnings("ignore")
    methods = {"global Beta-TS (no segments)": lambda s: simulate_segments(BetaTSConfig(), MEANS, horizon, s,
                                                                             segmented=False)}
    for shrinkage in (0.0, 5.0, 20.0):
        methods[f"segments, shrinkage {shrinkage:g}" + (" (default)" if shrinkage == 5.0 else "")] = (
            lambda s, k=shrinkage: simulate_segments(BetaTSConfig(), MEANS, horizon, s, segmented=True, shrinkage=k))
    contextual = LinearTSConfig(kind="linear_ts", features=["segment"], hash_dims=16)
    methods["linear_ts (contextual, refit every 200)"] = lambda s: simulate_contextual(contextual, MEANS, horizon, s)
    for alpha in (1.0, 0.5):
        methods[f"MABWiser LinTS alpha {alpha:g}" + (" (default)" if alpha == 1.0 else "")] = (
            lambda s, a=alpha: mabwiser_lints(horizon, s, alpha=a))
    means = {}
    for label, run in methods.items():
        start = time.perf_counter()
        finals = np.array([run(s)[-1] for s in range(seeds)])
        means[label] = finals.mean()
        print(f"{label:38s} regret at T={horizon}: {finals.mean():8.1f} +- {finals.std():6.1f} "
              f"({time.perf_counter() - start:.0f} s for {seeds} seeds)")
    seg = means["segments, shrinkage 5 (default)"]
    glob, lin = means["global Beta-TS (no segments)"], means["MABWiser LinTS alpha 1 (default)"]
    ctx = means["linear_ts (contextual, refit every 200)"]
    print(f"segments (default) / global TS = {seg / glob:.2f} (goal <= 0.5); / MABWiser LinTS (default) = "
          f"{seg / lin:.2f} (goal <= 1); linear_ts / global TS = {ctx / glob:.2f}, / MABWiser LinTS = {ctx / lin:.2f}")
    figure("segment routing regret at T=20,000 (4 segments x 4 prompts)",
           f"segments {seg:.0f}, global TS {glob:.0f} ({seg / glob:.2f}x), MABWiser LinTS {lin:.0f} ({seg / lin:.2f}x)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
