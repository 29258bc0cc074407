"""Ray evaluator vs thread evaluator on a 50 ms simulated-latency backend, same run: 240 calls,
8 in flight each way (threads: 8 workers; Ray: 2 actors x 4 threads). Efficiency = ideal / achieved."""
from __future__ import annotations

import os
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from benchmarks.common import figure, synthetic_suite  # noqa: E402
from evo.evaluation.evaluator import Evaluator  # noqa: E402
from evo.genome import PromptGenome  # noqa: E402
from evo.llm.config import ScriptedConfig, build_backend  # noqa: E402
from evo.evaluation.pool import RayEvaluatorConfig  # noqa: E402

CALLS, CONCURRENCY, LATENCY = 240, 8, 0.05


def main() -> None:
    from evo.evaluation.ray_evaluator import RayEvaluatorPool

    suite = synthetic_suite(CALLS)
    backend_cfg = ScriptedConfig(kind="scripted", default="1", latency_s=LATENCY)
    ideal = CALLS / CONCURRENCY * LATENCY
    genome = PromptGenome(instruction="Add.")
    with Evaluator(build_backend(backend_cfg), suite, workers=CONCURRENCY) as ev:
        threads = min(_timed(lambda: ev.evaluate(genome)) for _ in range(3))
    start = time.perf_counter()
    pool = RayEvaluatorPool(RayEvaluatorConfig(kind="ray", num_workers=2, threads_per_worker=CONCURRENCY // 2, num_cpus=2),
                            backend_cfg)
    ray_evaluator = pool.evaluator(suite)
    ray_evaluator.evaluate(genome, suite.examples[:4])  # actors are up and warm
    startup = time.perf_counter() - start
    try:
        ray_time = min(_timed(lambda: ray_evaluator.evaluate(genome)) for _ in range(3))
    finally:
        pool.shutdown()
    print(f"ideal {ideal:.3f} s · threads {threads:.3f} s ({ideal / threads:.3f} of ideal) · "
          f"ray {ray_time:.3f} s ({ideal / ray_time:.3f} of ideal) · ray start-up {startup:.1f} s (not in the timing)")
    figure("ray_vs_threads_50ms", f"ray {ideal / ray_time:.3f} of ideal vs threads {ideal / threads:.3f} "
           f"({CALLS} calls, {CONCURRENCY} in flight; cluster start-up {startup:.1f} s)")


def _timed(fn) -> float:
    start = time.perf_counter()
    batch = fn()
    assert batch.n == CALLS
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
