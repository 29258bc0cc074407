"""Embedded model: calls/s for a short arithmetic prompt through the framework (render -> backend ->
checks -> record, no cache) vs raw llama-cpp-python on the same loaded model, same requests, same
run. Target: >= 0.9."""
from __future__ import annotations

import time

from benchmarks.common import figure
from evo.evaluation.evaluator import Evaluator
from evo.evaluation.render import render_request
from evo.genome import PromptGenome
from evo.llm.local import LocalBackend
from evo.tasks.loader import load_suite

N = 60


def main() -> None:
    suite = load_suite("arithmetic")
    examples = suite.examples[:N]
    genome = PromptGenome(instruction="Compute the result. Answer with the number only.", max_tokens=8)
    backend = LocalBackend()
    model = backend.model  # load once, outside the timings
    requests = [render_request(genome, ex, suite.task(ex.task), suite) for ex in examples]

    def raw() -> float:
        start = time.perf_counter()
        for r in requests:
            model.create_chat_completion(messages=[{"role": role, "content": c} for role, c in r.messages],
                                         temperature=r.temperature, max_tokens=r.max_tokens, seed=r.effective_seed)
        return N / (time.perf_counter() - start)

    def framework() -> float:
        with Evaluator(backend, suite, workers=1) as ev:
            start = time.perf_counter()
            ev.evaluate(genome, examples)
            return N / (time.perf_counter() - start)

    raw(); framework()  # warm up
    raw_rates, fw_rates = [], []
    for _ in range(3):
        raw_rates.append(raw())
        fw_rates.append(framework())
    r, f = max(raw_rates), max(fw_rates)
    print(f"raw llama-cpp-python {r:.1f} calls/s · through evo {f:.1f} calls/s "
          f"(threads={backend.n_threads}/{backend.n_threads_batch})")
    figure("local_model_framework_vs_raw", f"{f / r:.3f} ({f:.1f} vs {r:.1f} calls/s; target >= 0.9)")


if __name__ == "__main__":
    main()
