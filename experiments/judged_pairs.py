"""Judged pairwise comparison of strategies' winners (no ground truth needed).

For each suite and each pair (a, b) of the experiment's ``judge_pairs``, and every seed, the judge model
compares a's and b's answers to each held-out test example in both orders (``llm_judge`` mode
``pairwise``: 1 when both orders prefer a, 0 when both prefer b, 0.5 when they disagree or call it a
tie). The win rate of a over b is the mean verdict with a two-level bootstrap 95% CI (seeds, examples);
a tie counts half. These calls are made after the runs and are not charged to any run's budget
(like the final scoring); the estimate counts them.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import combinations

import numpy as np

from experiments.stats import bootstrap_ci


def pairs_of(spec, names: list[str]) -> list[tuple[str, str]]:
    """The (a, b) pairs ``spec`` names (``"all"``: every pair of ``names``, in order)."""
    if spec == "none" or not spec:
        return []
    if spec == "all":
        return list(combinations(names, 2))
    return [tuple(p) for p in spec]


def judged_pairs(cells, judge, pairs: list[tuple[str, str]], *, samples: int = 1, resamples: int = 2000,
                 workers: int = 1) -> list[dict]:
    """One row per (variant, suite, a, b): wins, ties, losses over examples x seeds, the win rate of a
    with its CI, and the judge calls made."""
    from evo.tasks.llm_judge import JudgeOptions, LLMJudgeCheck

    check = LLMJudgeCheck(JudgeOptions(mode="pairwise", samples=samples)).bound(judge)
    by_key = {(c.variant, c.suite, c.strategy, c.seed): c for c in cells}
    groups = dict.fromkeys((c.variant, c.suite) for c in cells)
    rows = []
    for variant, suite in groups:
        seeds = sorted({c.seed for c in cells if (c.variant, c.suite) == (variant, suite)})
        for a, b in pairs:
            jobs = []
            for seed in seeds:
                ca, cb = by_key.get((variant, suite, a, seed)), by_key.get((variant, suite, b, seed))
                if ca is None or cb is None:
                    continue
                answers_b = {r.example_id: r for r in cb.result.test_records if r.sample_index == 0}
                jobs += [(seed, ra, answers_b[ra.example_id]) for ra in ca.result.test_records
                         if ra.sample_index == 0 and ra.example_id in answers_b]
            if not jobs:
                continue
            with ThreadPoolExecutor(max(1, workers)) as pool:
                results = list(pool.map(lambda j: check(j[1].answer, j[2].answer, {"input": j[1].input_text}), jobs))
            verdicts = {}
            for (seed, ra, _), res in zip(jobs, results):
                verdicts.setdefault(seed, []).append(0.5 if res.category == "error" else res.score)
            n = min(len(v) for v in verdicts.values())
            matrix = np.array([v[:n] for v in verdicts.values()])
            mean, lo, hi = bootstrap_ci(matrix, resamples, seed=0)
            flat = [s for v in verdicts.values() for s in v]
            rows.append({**({"variant": variant} if variant else {}), "suite": suite, "a": a, "b": b,
                         "comparisons": len(flat), "a_wins": sum(1 for s in flat if s == 1.0),
                         "ties": sum(1 for s in flat if s == 0.5), "b_wins": sum(1 for s in flat if s == 0.0),
                         "judge_errors": sum(1 for r in results if r.category == "error"),
                         "win_rate_a": round(mean, 4), "ci95_low": round(lo, 4), "ci95_high": round(hi, 4),
                         "judge_calls": sum((r.usage or {}).get("calls", 0) for r in results)})
    return rows
