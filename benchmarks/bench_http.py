"""HTTP /route + /reward on loopback: 32 concurrent keep-alive clients (``benchmarks/loadgen.py``, an
asyncio client light enough not to be the bottleneck) against a real `evo bandit serve` process, for
the SQLite store and a real PostgreSQL server started on 127.0.0.1 (``bandit.testing.postgres``).

Prints requests/s, p50/p99 latency, whether the store's counts equal the acknowledged requests
exactly, and the CPU share (of one core) of the load generator and of the server processes.
Each /route carries input fields, so every answer is a rendered prompt. Bounded: 5 s per setup.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.common import figure
from benchmarks.loadgen import run_load
from evo.genome import PromptGenome

CLIENTS, SECONDS = 32, 5.0
TOKEN = "bench"


def _cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its children (uvicorn workers), from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            pass
    return total


def _serve(store_url: str, workers: int, *extra: str):
    from tests.fake_servers import start_router  # the tests' launcher: a free port, waits for /healthz

    return start_router(store_url, TOKEN, "--workers", str(workers), *extra)


V2_ROLLOUT = ("enabled: false\nsegments: {by: [lang, tier]}\n"
              "metrics: {objective: thumbs_up, declared: [{name: thumbs_up, type: boolean}]}\n")


def measure(store_url: str, label: str, workers: int = 1, v2: bool = False) -> dict:
    """``v2``: /route with features (8 segments, segment_by lang and tier) and sticky subjects, and
    /feedback on the objective metric instead of /reward."""
    extra = ()
    if v2:
        rollout = Path(tempfile.mkdtemp()) / "rollout.yaml"
        rollout.write_text(V2_ROLLOUT)
        extra = ("--rollout", str(rollout))
    base, proc = _serve(store_url, workers, *extra)
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for i, production in enumerate((True, False, False)):
            httpx.post(base + "/arms", json={"genome": PromptGenome(instruction=f"variant {i}").to_json(),
                                              "production": production}, headers=auth, timeout=10).raise_for_status()
        time.sleep(0.6)  # every worker has refreshed its arms
        port = int(base.rsplit(":", 1)[1])
        cpu0 = _cpu_seconds(proc.pid)
        load = run_load("127.0.0.1", port, clients=CLIENTS, seconds=SECONDS, varied=v2,
                        feedback_metric="thumbs_up" if v2 else None)
        server_cpu = (_cpu_seconds(proc.pid) - cpu0) / load.elapsed_s
        arms = httpx.get(base + "/arms", timeout=30).json()["arms"]
    finally:
        proc.terminate()
        proc.wait(30)
    pulls = {a["arm_id"]: a["pulls"] for a in arms}
    exact = load.errors == 0 and all(pulls[k] == load.arms.count(k) for k in pulls) and \
        sum(pulls.values()) == len(load.arms)
    lat = np.array(load.latencies_s) * 1000
    out = {"label": label, "workers": workers, "req_s": load.requests / load.elapsed_s,
           "p50": float(np.percentile(lat, 50)), "p99": float(np.percentile(lat, 99)), "exact": exact,
           "errors": load.errors, "loadgen_cpu": load.cpu_s / load.elapsed_s, "server_cpu": server_cpu}
    print(f"{label:<22} {workers} worker(s): {out['req_s']:,.0f} req/s · p50 {out['p50']:.1f} ms · "
          f"p99 {out['p99']:.1f} ms · counts exact: {exact} · errors {load.errors} · CPU (of one core): "
          f"load generator {out['loadgen_cpu']:.0%}, server {server_cpu:.0%}"
          + (f" · first errors: {load.error_samples[:2]}" if load.errors else ""))
    return out


def main() -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    print(f"{CLIENTS} clients, route+reward pairs for {SECONDS:.0f} s each, loopback, 2-core machine")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = measure(f"sqlite:///{tmp}/b.sqlite", "SQLite")
        figure("http_route_reward_sqlite", f"{sqlite['req_s']:,.0f} req/s, p50 {sqlite['p50']:.1f} ms, "
               f"p99 {sqlite['p99']:.1f} ms, counts exact: {sqlite['exact']} ({CLIENTS} clients, SQLite, 1 worker; "
               f"load generator {sqlite['loadgen_cpu']:.0%} of a core)")
        v2 = measure(f"sqlite:///{tmp}/v2.sqlite", "SQLite, v2 features", v2=True)
        figure("http_route_feedback_segments_subjects_sqlite",
               f"{v2['req_s']:,.0f} req/s, p50 {v2['p50']:.1f} ms, p99 {v2['p99']:.1f} ms, counts exact: {v2['exact']} "
               f"({CLIENTS} clients, SQLite; features in 8 segments, sticky subjects, /feedback)")
        try:
            from bandit.testing.postgres import LocalPostgres
        except ImportError:
            print("PostgreSQL: skipped (pip install pgserver)")
            return
        with LocalPostgres(Path(tmp) / "pg") as pg_url:
            for workers in (1, 2):
                pg = measure(pg_url, "PostgreSQL", workers)
                figure(f"http_route_reward_postgresql_{workers}w",
                       f"{pg['req_s']:,.0f} req/s, p50 {pg['p50']:.1f} ms, p99 {pg['p99']:.1f} ms, counts exact: "
                       f"{pg['exact']} ({CLIENTS} clients, PostgreSQL, {workers} worker(s))")
                import psycopg

                with psycopg.connect(pg_url, autocommit=True) as conn:  # a clean store for the next setup
                    conn.execute("DROP TABLE IF EXISTS decisions, arms, meta, events, assignments, segment_stats, "
                                 "metric_stats, feedback")


if __name__ == "__main__":
    main()
