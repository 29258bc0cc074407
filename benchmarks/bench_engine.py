"""The evolutionary engine's own throughput: example-evaluations per second with an instant scripted
task model and LLM-free operators (so only the framework is measured: variation, rendering, cache,
checks, records, selection, bookkeeping). GEPA 0.1.4's engine measured on this machine: 2.3k-16k/s."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import adder, figure, synthetic_suite
from evo.budget import Budget, BudgetConfig
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.llm.cache import CachedBackend, ResponseCache
from evo.llm.scripted import ScriptedBackend
from evo.optimizer.llm import OptimizerLLM
from evo.run.loop import OptimizationRun
from evo.strategies.evolutionary import EvolutionaryConfig, EvolutionaryStrategy
from evo.tasks.suite import TaskSuite


def run(n_train: int, cache: bool) -> tuple[float, int]:
    base = synthetic_suite(n_train + 20)
    examples = tuple(ex if i < n_train else type(ex)(ex.id, ex.task, ex.inputs, ex.expected, "val" if i % 2 else "test")
                     for i, ex in enumerate(base.examples))
    suite = TaskSuite("bench", base.tasks, examples, "Add the two numbers; answer with the number only.")
    budget = Budget(BudgetConfig(max_calls=10**9))
    with tempfile.TemporaryDirectory() as tmp:
        backend = ScriptedBackend(adder)
        if cache:
            backend = CachedBackend(backend, ResponseCache(Path(tmp) / "c.sqlite"))
        config = EvolutionaryConfig(population_size=24, keep=12, generations=15, llm_operators=False,
                                    target_score=None, patience=100, min_diversity=1)
        seed = PromptGenome(instruction="Add.")
        strategy = EvolutionaryStrategy(config, suite, seed, OptimizerLLM(backend, budget), seed=0)
        evaluator = Evaluator(backend, suite, workers=1)
        loop = OptimizationRun(strategy, evaluator, budget, seed)
        start = time.perf_counter()
        while not strategy.finished:  # the optimization loop only (no final scoring)
            reqs = strategy.ask()
            strategy.tell([(r, loop.evaluate(r.genome, r.split, r.samples, perturbed=r.perturbed)) for r in reqs])
        elapsed = time.perf_counter() - start
    return elapsed, budget.usage["task"].calls


def main() -> None:
    for cache in (False, True):
        elapsed, evals = run(200, cache)
        label = "with SQLite response cache" if cache else "no cache"
        print(f"{evals} example-evaluations in {elapsed:.2f} s: {evals / elapsed:,.0f}/s ({label})")
        if not cache:
            rate = evals / elapsed
    figure("engine_example_evaluations_per_s", f"{rate:,.0f}/s without cache, population 24, 200 train examples "
           "(GEPA 0.1.4: 2.3k-16k/s)")


if __name__ == "__main__":
    main()
