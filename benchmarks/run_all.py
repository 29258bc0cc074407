"""Run every benchmark in its own process and print the figures together at the end."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ["bench_overhead", "bench_concurrency", "bench_cache", "bench_local_model", "bench_contention", "bench_engine", "bench_ray", "bench_mlflow", "bench_bandit", "bench_ope", "bench_winner", "bench_segments", "bench_http", "bench_scaling"]


def main(names: list[str]) -> int:
    figures, failed = [], []
    for name in names or BENCHMARKS:
        print(f"== {name}", flush=True)
        proc = subprocess.run([sys.executable, "-m", f"benchmarks.{name}"], cwd=ROOT, text=True,
                              capture_output=True)
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            failed.append(name)
            sys.stdout.write(proc.stderr[-2000:])
        figures += [line for line in proc.stdout.splitlines() if line.startswith("FIGURE ")]
    print("\n== figures")
    for line in figures:
        print(line[len("FIGURE "):])
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
