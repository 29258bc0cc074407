"""Embedded model under CPU contention: calls/s of the quickstart's baseline scoring (the arithmetic
suite's seed prompt, no cache) for each thread setting, on a quiet machine and with one competing
CPU-bound process (``python -c "while True: pass"``). Goal: contended >= 0.5x quiet."""
from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.common import figure
from evo.evaluation.evaluator import Evaluator
from evo.llm.local import LocalBackend
from evo.run.session import seed_genome_of
from evo.tasks.loader import load_suite

N = 48


def rate(backend, suite, genome, examples) -> float:
    with Evaluator(backend, suite, workers=1) as ev:
        start = time.perf_counter()
        ev.evaluate(genome, examples)
        return len(examples) / (time.perf_counter() - start)


def main(settings=None) -> None:
    suite = load_suite("arithmetic")
    genome = seed_genome_of(suite)
    examples = list(suite.examples[:N])
    for threads in settings or [1, 2, None]:
        backend = LocalBackend(n_threads=threads)  # None: adaptive (the default)
        backend.model  # load outside the timings
        rate(backend, suite, genome, examples[:8])  # warm up
        quiet = rate(backend, suite, genome, examples)
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.5)
            busy = rate(backend, suite, genome, examples)
        finally:
            hog.kill()
            hog.wait()
        threads = threads or "auto"
        print(f"threads={threads}: quiet {quiet:.2f} calls/s · one competing process {busy:.2f} calls/s "
              f"({busy / quiet:.2f}x)", flush=True)
        figure(f"local_contention_threads{threads}", f"{busy / quiet:.2f}x ({busy:.2f} vs {quiet:.2f} calls/s)")


if __name__ == "__main__":
    main([None if a == "auto" else int(a) for a in sys.argv[1:]] or None)
