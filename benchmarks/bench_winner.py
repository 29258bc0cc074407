"""Fixed-confidence winner declaration (bandit.winner) against fixed-horizon A/B tests.

For each scenario (3 or 5 Bernoulli prompts), 500 simulated experiments at delta = 0.05: top-two Thompson
sampling with the GLR stopping rule (checked every 10 rewards, at least 30 rewards per arm). Reported:
the error rate (the declared prompt is not the best; must be <= delta) and the median and mean samples
to a decision. Two fixed-horizon A/B tests (even split, the best observed mean after N samples per arm;
error rates from 20,000 simulations):
- planned: sized for a minimum detectable effect of 0.05 at error <= delta (what a team must fix before
  it knows the real gap; the same N per prompt in every scenario);
- oracle: the smallest N (on a grid of 50 per arm) whose error rate on this very scenario is at most
  the sequential test's measured error rate (at least 1 / experiments): the same error rate, with the
  gap known in advance, which no real A/B test has.
And one sequential A/B test: an even split with the same GLR stopping rule (the comparison TensorZero
reported its "37% faster" against), which isolates what the adaptive allocation adds.
Goal (issue 29): >= 35% fewer samples than the A/B test at the same error rate."""
from __future__ import annotations

import sys

import numpy as np

from bandit.simulate import identify
from bandit.winner import WinnerConfig
from benchmarks.common import figure

SCENARIOS = {"gaps 0.05 (= the MDE)": [0.50, 0.55, 0.60], "best 0.10 ahead": [0.50, 0.55, 0.65],
             "gaps 0.10": [0.40, 0.50, 0.60], "5 prompts, gaps 0.05": [0.40, 0.45, 0.50, 0.55, 0.60]}


def ab_error(means, n_per_arm: int, sims: int = 20_000, seed: int = 0) -> float:
    means = np.asarray(means)
    rng = np.random.default_rng(seed)
    wins = rng.binomial(n_per_arm, means[:, None], size=(len(means), sims)).astype(float)
    wins += rng.random(wins.shape) * 1e-6  # random tie-breaking
    return float(np.mean(np.argmax(wins, axis=0) != int(np.argmax(means))))


def ab_samples(means, target_error: float) -> int:
    """Total samples of the smallest even split (a multiple of 50 per arm) with error <= target_error."""
    n = 50
    while ab_error(means, n) > target_error:
        n += 50
    return n * len(means)


def main(experiments: int = 500, delta: float = 0.05) -> None:
    cfg = WinnerConfig(enabled=True, delta=delta, min_pulls=30)
    mde = SCENARIOS["gaps 0.05 (= the MDE)"]
    per_arm = ab_samples(mde, delta) // len(mde)
    print(f"planned A/B (MDE 0.05, error <= {delta}): {per_arm} samples per prompt in every scenario")
    for label, means in SCENARIOS.items():
        results = [identify(means, cfg, seed=s, max_steps=400_000) for s in range(experiments)]
        declared = np.array([arm for arm, _ in results])
        samples = np.array([t for _, t in results])
        error = float(np.mean(declared != int(np.argmax(means))))
        median = float(np.median(samples))
        oracle = ab_samples(means, max(error, 1.0 / experiments))
        planned = per_arm * len(means)
        planned_error = ab_error(means, per_arm)
        even = [identify(means, cfg, seed=s, max_steps=400_000, uniform=True) for s in range(experiments)]
        even_error = float(np.mean(np.array([a for a, _ in even]) != int(np.argmax(means))))
        even_median = float(np.median([t for _, t in even]))
        print(f"{label} {means}: sequential error {error:.3f} (delta {delta}), median {median:.0f} samples, mean "
              f"{samples.mean():.0f}, unfinished {int(np.sum(declared < 0))} · planned A/B {planned} samples "
              f"(error {planned_error:.3f}): {1 - median / planned:+.0%} fewer · oracle A/B at the same error "
              f"{oracle}: {1 - median / oracle:+.0%} fewer · sequential even split (error {even_error:.3f}) median "
              f"{even_median:.0f}: {1 - median / even_median:+.0%} fewer")
        figure(f"winner declaration, {label}", f"error {error:.3f} (delta {delta}); median {median:.0f} samples vs "
               f"planned A/B {planned} ({1 - median / planned:+.0%}), oracle A/B {oracle} ({1 - median / oracle:+.0%}), "
               f"sequential even split {even_median:.0f} ({1 - median / even_median:+.0%})")


if __name__ == "__main__":
    main(*(int(a) if i == 0 else float(a) for i, a in enumerate(sys.argv[1:])))
