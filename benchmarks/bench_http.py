"""HTTP /route + /reward on loopback with 32 concurrent clients against a real `evo bandit serve`
process (SQLite store): requests/s, p50/p99 latency, and exact counts in the store afterwards.
Bounded: 32 clients x 40 route+reward pairs, 127.0.0.1 only."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from benchmarks.common import figure
from evo.genome import PromptGenome

CLIENTS, PAIRS = 32, 40


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"sqlite:///{tmp}/b.sqlite"
        env = {**os.environ, "EVO_BANDIT_ADMIN_TOKEN": "bench"}
        evo = Path(sys.executable).parent / "evo"
        proc = subprocess.Popen([str(evo), "bandit", "serve", "--store", url, "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(150):
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            auth = {"Authorization": "Bearer bench"}
            for i, prod in enumerate((True, False, False)):
                g = PromptGenome(instruction=f"variant {i}")
                httpx.post(base + "/arms", json={"genome": g.to_json(), "production": prod}, headers=auth).raise_for_status()
            latencies: list[float] = []

            def client(k: int):
                picks = []
                rng = np.random.default_rng(k)
                with httpx.Client(base_url=base, timeout=60) as c:
                    for _ in range(PAIRS):
                        t0 = time.perf_counter()
                        d = c.post("/route").json()
                        t1 = time.perf_counter()
                        c.post("/reward", json={"decision_id": d["decision_id"], "reward": float(rng.random() < 0.5)}).raise_for_status()
                        t2 = time.perf_counter()
                        latencies.extend([t1 - t0, t2 - t1])
                        picks.append(d["arm_id"])
                return picks

            start = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                picks = [p for ps in pool.map(client, range(CLIENTS)) for p in ps]
            elapsed = time.perf_counter() - start
            arms = httpx.get(base + "/arms").json()["arms"]
        finally:
            proc.terminate()
            proc.wait(10)
    pulls = {a["arm_id"]: a["pulls"] for a in arms}
    exact = all(pulls[k] == picks.count(k) for k in pulls) and sum(pulls.values()) == len(picks)
    requests = 2 * len(picks)
    lat = np.array(latencies) * 1000
    print(f"{requests} requests from {CLIENTS} clients in {elapsed:.2f} s: {requests / elapsed:,.0f} req/s · "
          f"p50 {np.percentile(lat, 50):.1f} ms · p99 {np.percentile(lat, 99):.1f} ms · counts exact: {exact}")
    figure("http_route_reward", f"{requests / elapsed:,.0f} req/s, p99 {np.percentile(lat, 99):.0f} ms, "
           f"counts exact: {exact} ({CLIENTS} clients, SQLite store)")


if __name__ == "__main__":
    main()
