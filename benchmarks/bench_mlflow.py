"""MLflow logging overhead per generation (sqlite file store): one batched call per step with the
~30 metrics a generation produces, vs one log_metric call per value, same run."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import figure
from evo.tracking import MlflowTracker

METRICS = 30


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tracker = MlflowTracker(f"sqlite:///{tmp}/mlflow.db", "bench", Path(tmp) / "artifacts")
        run = tracker.start_run("batched")
        metrics = {f"m{i}": float(i) for i in range(METRICS)}
        tracker.log_metrics(run, metrics, 0)  # warm up
        steps = 40
        start = time.perf_counter()
        for step in range(1, steps + 1):
            tracker.log_metrics(run, metrics, step)
        batched = (time.perf_counter() - start) / steps
        run2 = tracker.start_run("one-by-one")
        singles_steps = 5
        start = time.perf_counter()
        for step in range(singles_steps):
            for k, v in metrics.items():
                tracker.client.log_metric(run2, k, v, step=step)
        single = (time.perf_counter() - start) / singles_steps
    print(f"{METRICS} metrics per generation: batched {batched * 1000:.1f} ms/generation · "
          f"one call per metric {single * 1000:.1f} ms/generation ({single / batched:.0f}x slower)")
    figure("mlflow_overhead_per_generation", f"{batched * 1000:.1f} ms ({METRICS} metrics, one log_batch; "
           f"{single * 1000:.0f} ms with one log_metric per value)")


if __name__ == "__main__":
    main()
