"""Cached rerun: the second identical evaluation makes 0 backend calls; report the wall-time ratio.
Runs the embedded model (40 arithmetic examples) so the ratio reflects real model latency."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import figure
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.llm.base import BackendBase
from evo.llm.cache import CachedBackend, ResponseCache
from evo.llm.local import LocalBackend
from evo.tasks.loader import load_suite


class Counting(BackendBase):
    def __init__(self, inner):
        self.inner, self.calls = inner, 0
        self.fingerprint, self.max_concurrency = inner.fingerprint, inner.max_concurrency

    def complete(self, request):
        self.calls += 1
        return self.inner.complete(request)


def main() -> None:
    suite = load_suite("arithmetic")
    examples = suite.examples[:40]
    genome = PromptGenome(instruction="Compute the result. Answer with the number only.", max_tokens=8)
    with tempfile.TemporaryDirectory() as tmp:
        timings, calls = [], []
        for _ in range(2):
            counting = Counting(LocalBackend())
            backend = CachedBackend(counting, ResponseCache(Path(tmp) / "c.sqlite"))
            with Evaluator(backend, suite, workers=1) as ev:
                start = time.perf_counter()
                batch = ev.evaluate(genome, examples)
                timings.append(time.perf_counter() - start)
            calls.append(counting.calls)
    print(f"first run {timings[0]:.2f} s, {calls[0]} backend calls · rerun {timings[1] * 1000:.1f} ms, "
          f"{calls[1]} backend calls · pass rate {batch.pass_rate:.0%}")
    assert calls[1] == 0, "the rerun must make zero backend calls"
    figure("cached_rerun", f"{calls[1]} backend calls on rerun; wall time {timings[1] / timings[0]:.4f}x "
           f"the first run ({timings[0] / timings[1]:.0f}x faster)")


if __name__ == "__main__":
    main()
