"""Statistics for strategy comparisons on held-out examples.

- ``bootstrap_ci(scores)``: ``scores`` is a (seeds x examples) matrix; resample seeds and examples
  with replacement (two-level bootstrap), return the mean and the 95% percentile interval.
- ``wilcoxon_p(a, b)``: paired Wilcoxon signed-rank test on per-example scores (averaged over seeds);
  1.0 when every pair is equal.
- ``mcnemar_p(a, b)``: exact McNemar test (binomial on discordant pairs) on per-example pass/fail.
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def bootstrap_ci(scores: np.ndarray, resamples: int = 2000, seed: int = 0, alpha: float = 0.05) -> tuple[float, float, float]:
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    n_seeds, n_ex = scores.shape
    rng = np.random.default_rng(seed)
    seed_idx = rng.integers(n_seeds, size=(resamples, n_seeds))
    ex_idx = rng.integers(n_ex, size=(resamples, n_ex))
    means = np.array([scores[np.ix_(s, e)].mean() for s, e in zip(seed_idx, ex_idx)])
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(scores.mean()), float(lo), float(hi)


def wilcoxon_p(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if np.allclose(a, b):
        return 1.0
    try:
        return float(stats.wilcoxon(a, b, zero_method="zsplit").pvalue)
    except ValueError:
        return 1.0


def mcnemar_p(a_pass: np.ndarray, b_pass: np.ndarray) -> float:
    a_pass, b_pass = np.asarray(a_pass, bool), np.asarray(b_pass, bool)
    only_a = int(np.sum(a_pass & ~b_pass))
    only_b = int(np.sum(~a_pass & b_pass))
    if only_a + only_b == 0:
        return 1.0
    return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)
