"""Framework overhead per example through the full path (render -> cache -> backend -> checks ->
record) with a zero-latency scripted backend and 1 worker, at n = 250, 2,000 and 4,000.
Target: <= 30 us/example, flat in n (DSPy 3.4's Evaluate measured here: ~296 us/example)."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import adder, figure, synthetic_suite
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.llm.cache import CachedBackend, ResponseCache
from evo.llm.scripted import ScriptedBackend


def per_example_us(n: int, repeats: int = 3) -> float:
    suite = synthetic_suite(n)
    best = float("inf")
    for r in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            backend = CachedBackend(ScriptedBackend(adder), ResponseCache(Path(tmp) / "c.sqlite"))
            with Evaluator(backend, suite, workers=1) as ev:
                start = time.perf_counter()
                batch = ev.evaluate(PromptGenome(instruction="Add the two numbers.", max_tokens=8))
                elapsed = time.perf_counter() - start
            assert batch.pass_rate == 1.0 and batch.n == n
        best = min(best, elapsed / n * 1e6)
    return best


def main() -> None:
    results = {n: per_example_us(n) for n in (250, 2000, 4000)}
    for n, us in results.items():
        print(f"n={n:5d}: {us:6.1f} us/example (cold cache: every example is a miss + write)")
    figure("overhead_us_per_example_n2000", f"{results[2000]:.1f} us (n=250: {results[250]:.1f}, "
           f"n=4000: {results[4000]:.1f}; target <= 30; DSPy Evaluate ~296)")


if __name__ == "__main__":
    main()
