"""Scaling of population-level evaluation: a simulated API model (200 ms per call) evaluated by the thread
pool and by Ray on 1, 2 and 4 nodes of a real multi-node cluster on this machine (each node its own
raylet with one CPU; stateless tasks with 8 calls in flight each), without and with a cluster-wide
rate limit. Prints calls/s and the efficiency against the ideal (in-flight calls / latency, capped by
the rate limit), and the projection for a realistic comparison written in the README.
Bounded: 8 genomes x 40 examples (320 calls) per measurement, about a minute in all."""
from __future__ import annotations

import os
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from benchmarks.common import figure  # noqa: E402
from evo.evaluation.evaluator import Evaluator  # noqa: E402
from evo.evaluation.pool import RayEvaluatorConfig  # noqa: E402
from evo.evaluation.rate_limit import RateLimitConfig  # noqa: E402
from evo.genome import PromptGenome  # noqa: E402
from evo.llm.config import ScriptedConfig, build_backend  # noqa: E402
from evo.testing.toys import arithmetic_suite  # noqa: E402

LATENCY_S, IN_FLIGHT_PER_NODE = 0.2, 8
GENOMES, EXAMPLES = 8, 40
RATE_LIMIT_RPM = 6000  # 100 calls/s: the ceiling in the limited runs


def workload():
    suite = arithmetic_suite(n_train=EXAMPLES, n_val=2, n_test=2)
    jobs = [(PromptGenome(instruction=f"Add, variant {k}."), suite.split("train"), 1) for k in range(GENOMES)]
    return suite, jobs


def timed(evaluator, jobs) -> float:
    start = time.perf_counter()
    batches = evaluator.evaluate_many(jobs)
    elapsed = time.perf_counter() - start
    calls = sum(len(examples) for _, examples, _ in jobs)
    assert sum(b.n for b in batches) == calls and not any(b.n_errors for b in batches)
    return calls / elapsed


def report(label: str, calls_s: float, ideal: float) -> dict:
    eff = calls_s / ideal
    print(f"{label:<34} {calls_s:7.1f} calls/s · ideal {ideal:6.1f} · efficiency {eff:.2f}")
    return {"calls_s": calls_s, "ideal": ideal, "efficiency": eff}


def main() -> None:
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    from evo.evaluation.ray_evaluator import RayEvaluatorPool

    backend_cfg = ScriptedConfig(kind="scripted", default="4", latency_s=LATENCY_S)
    suite, jobs = workload()
    print(f"{GENOMES} genomes x {EXAMPLES} examples per measurement, {LATENCY_S * 1000:.0f} ms per call")
    results = {}
    for workers in (8, 32):
        with Evaluator(build_backend(backend_cfg), suite, workers=workers) as ev:
            results[f"threads{workers}"] = report(f"thread pool, {workers} threads", timed(ev, jobs),
                                                  workers / LATENCY_S)

    ray_constants.ENABLE_RAY_CLUSTER = False  # every node on 127.0.0.1
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False,
                                                            "node_ip_address": "127.0.0.1"})
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        nodes = 1
        for size in (1, 2, 4):
            while nodes < size:
                cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
                nodes += 1
            cluster.wait_for_nodes()
            for limited in (False, True):
                limit = RateLimitConfig(requests_per_minute=RATE_LIMIT_RPM, burst_s=0.1) if limited else None
                cfg = RayEvaluatorConfig(kind="ray", address=cluster.address, mode="tasks",
                                         threads_per_worker=IN_FLIGHT_PER_NODE, rate_limit=limit)
                pool = RayEvaluatorPool(cfg, backend_cfg)
                try:
                    ev = pool.evaluator(suite)
                    timed(ev, jobs[:size])  # warm-up: worker processes start on every node
                    ideal = size * IN_FLIGHT_PER_NODE / LATENCY_S
                    if limited:
                        ideal = min(ideal, RATE_LIMIT_RPM / 60)
                    key = f"ray{size}" + ("_limited" if limited else "")
                    label = f"Ray, {size} node(s)" + (f", limit {RATE_LIMIT_RPM / 60:.0f}/s" if limited else "")
                    results[key] = report(label, timed(ev, jobs), ideal)
                finally:
                    pool.shutdown()
    finally:
        ray.shutdown()
        cluster.shutdown()
    scaling = ", ".join(f"{n} node(s) {results[f'ray{n}']['calls_s']:.0f}/s ({results[f'ray{n}']['efficiency']:.2f})"
                        for n in (1, 2, 4))
    figure("ray_scaling", f"{scaling} of ideal; threads x32 {results['threads32']['calls_s']:.0f}/s "
           f"({results['threads32']['efficiency']:.2f}); 4 nodes under a 100/s limit "
           f"{results['ray4_limited']['calls_s']:.0f}/s ({LATENCY_S * 1000:.0f} ms calls)")
    print(projection(results["ray4"]["efficiency"]))


def projection(efficiency: float, latency_s: float = 2.0, in_flight_per_node: int = 32, rpm: float = 4000) -> str:
    """Wall time of 4 strategies x 5 seeds x 3 suites x 1,500 calls (plus ~10% final scoring) on an API
    model, on 1 vs 16 nodes, with the provider's requests per minute as the ceiling."""
    calls = 4 * 5 * 3 * 1500 * 1.1
    lines = [f"projection: {calls:,.0f} calls, {latency_s:.0f} s per call, {in_flight_per_node} in flight per "
             f"node, measured efficiency {efficiency:.2f}, provider limit {rpm:,.0f} requests/min"]
    for nodes in (1, 16):
        unlimited = nodes * in_flight_per_node / latency_s * efficiency
        rate = min(unlimited, rpm / 60)
        lines.append(f"  {nodes:>2} node(s): {rate:5.1f} calls/s -> {calls / rate / 3600:4.1f} h"
                     + (" (at the rate limit)" if rate < unlimited else ""))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
