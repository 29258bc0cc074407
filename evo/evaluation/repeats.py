"""Repeated sampling per example: pass@k, pass^k and flakiness from a batch with ``samples = k``.

For an example sampled ``n`` times with ``c`` passes:
- pass@k (k <= n) is the chance that at least one of k samples passes, estimated without bias as
  ``1 - C(n - c, k) / C(n, k)`` (Chen et al. 2021, the Codex paper); with k = n it is ``c > 0``;
- pass^k is the chance that all k pass, ``C(c, k) / C(n, k)`` (tau-bench's measure of reliability);
- an example is flaky when ``0 < c < n``: the same prompt passes and fails it.
The summary averages them over examples; ``flaky`` lists the flaky examples' ids.
"""
from __future__ import annotations

from math import comb

from evo.evaluation.records import EvalBatch


def pass_at_k(n: int, c: int, k: int) -> float:
    return 1.0 - comb(n - c, k) / comb(n, k) if n - c >= k else 1.0


def pass_all_k(n: int, c: int, k: int) -> float:
    return comb(c, k) / comb(n, k)


def repeat_stats(batch: EvalBatch, k: int | None = None) -> dict:
    """Per-example counts and the summary for ``k`` samples (default: the fewest samples any example
    has). Errored samples count as failed."""
    per: dict[str, list[bool]] = {}
    for r in batch.records:
        per.setdefault(r.example_id, []).append(bool(r.passed))
    if not per:
        return {"k": 0, "examples": 0, "pass_at_k": None, "pass_all_k": None, "flake_rate": None, "flaky": []}
    k = k or min(len(v) for v in per.values())
    rows = {ex: (len(v), sum(v)) for ex, v in per.items()}
    flaky = [ex for ex, (n, c) in rows.items() if 0 < c < n]
    return {"k": k, "examples": len(rows),
            "pass_at_k": sum(pass_at_k(n, c, k) for n, c in rows.values()) / len(rows),
            "pass_all_k": sum(pass_all_k(n, c, k) for n, c in rows.values()) / len(rows),
            "flake_rate": len(flaky) / len(rows), "flaky": flaky,
            "per_example": {ex: {"samples": n, "passed": c} for ex, (n, c) in rows.items()}}
