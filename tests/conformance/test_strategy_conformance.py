"""One conformance suite every strategy passes (iterative, evolutionary, hybrid)."""
import json

import pytest

from evo.errors import BackendError
from evo.genome import PromptGenome, stable_hash
from evo.run_loop import OptimizationRun
from tests.helpers import arithmetic_suite, build_parts, keyword_task_model, pure_optimizer

STRATEGIES = {
    "iterative": {"kind": "iterative", "n_candidates": 2, "max_train_iterations": 3, "max_val_iterations": 2},
    "evolutionary": {"kind": "evolutionary", "population_size": 6, "keep": 3, "generations": 3,
                     "target_score": None},
    "hybrid": {"kind": "hybrid", "evolution_share": 0.5,
               "evolutionary": {"population_size": 4, "keep": 2, "generations": 2, "target_score": None},
               "iterative": {"n_candidates": 2, "max_train_iterations": 2, "max_val_iterations": 1}},
}


def build(kind, budget_cfg=None, task_backend=None, seed=0):
    suite = arithmetic_suite()
    parts = build_parts({"strategy": STRATEGIES[kind], "budget": budget_cfg or {"max_calls": 400}, "seed": seed},
                        suite, seed_genome=PromptGenome(instruction="Solve.", max_tokens=8),
                        task=task_backend or keyword_task_model(), optimizer=pure_optimizer())
    return parts, suite


def run_parts(parts):
    return OptimizationRun(parts.strategy, parts.evaluator, parts.budget, parts.seed_genome).run()


def trajectory(result):
    return [(s["best_id"], round(s["detail"]["selection_score"], 9)) for s in result.steps]


@pytest.fixture(params=list(STRATEGIES))
def kind(request):
    return request.param


def test_respects_the_budget(kind):
    parts, _ = build(kind, {"max_task_calls": 120})
    result = run_parts(parts)
    assert result.budget["usage"]["task"]["calls"] <= 120
    assert "budget" in result.stop_reason or "task calls" in result.stop_reason or parts.strategy.finished


def test_never_mutates_inputs(kind):
    parts, suite = build(kind)
    snapshot = json.dumps([(e.id, dict(e.inputs), e.expected, e.split) for e in suite.examples])
    seed = parts.seed_genome.model_dump()
    result = run_parts(parts)
    assert json.dumps([(e.id, dict(e.inputs), e.expected, e.split) for e in suite.examples]) == snapshot
    assert parts.seed_genome.model_dump() == seed
    assert result.best_genome.parents or result.best_genome.id == parts.seed_genome.id


def test_same_seed_same_trajectory(kind):
    a = run_parts(build(kind, seed=5)[0])
    b = run_parts(build(kind, seed=5)[0])
    assert trajectory(a) == trajectory(b) and a.best_genome.id == b.best_genome.id
    assert a.best_genome == b.best_genome  # lineage (parents, operator) included
    assert a.after == b.after


def test_state_round_trips_mid_run(kind):
    full = run_parts(build(kind)[0])

    first, _ = build(kind, {"max_calls": 400, "max_steps": 2})
    loop = OptimizationRun(first.strategy, first.evaluator, first.budget, first.seed_genome)
    loop.run()
    saved = json.loads(json.dumps({"strategy": first.strategy.state_dict(), "budget": first.budget.to_json(),
                                   "charged": sorted(list(k) for k in loop.charged_keys), "steps": loop.steps}))
    saved["budget"]["config"]["max_steps"] = None

    second, _ = build(kind)
    second.strategy.load_state_dict(saved["strategy"])
    second.budget.load_state(saved["budget"])
    resumed = OptimizationRun(second.strategy, second.evaluator, second.budget, second.seed_genome,
                              charged_keys={tuple(k) for k in saved["charged"]}, steps=saved["steps"]).run()
    assert trajectory(resumed) == trajectory(full)
    assert resumed.best_genome.id == full.best_genome.id


def test_tolerates_failed_evaluations(kind):
    base = keyword_task_model()

    def flaky(request):
        if int(stable_hash(request.canonical(), size=2), 16) % 10 < 3:
            raise BackendError("HTTP 500: scripted outage", retryable=True)
        return base._responder(request)
    from evo.llm.scripted import ScriptedBackend
    parts, _ = build(kind, task_backend=ScriptedBackend(flaky))
    result = run_parts(parts)
    errors = sum(b.n_errors for b in result.final_batches["after"].values())
    assert errors > 0 and result.steps and result.best_genome is not None
