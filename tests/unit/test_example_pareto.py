"""GEPA-style per-example Pareto parent selection for the evolutionary strategy."""
from __future__ import annotations

import numpy as np

from evo.genome import PromptGenome
from evo.strategies import deap_support as D


def individual(name: str, scores: dict) -> D.Individual:
    ind = D.Individual(PromptGenome(instruction=name), D.pareto_fitness_class(("quality",)))
    ind.examples = scores
    return ind


def test_weights_count_the_examples_each_candidate_is_best_on_and_drop_dominated_ones():
    a = individual("a", {"e1": 1.0, "e2": 1.0, "e3": 0.0})   # best on e1, e2
    b = individual("b", {"e1": 0.0, "e2": 0.0, "e3": 1.0})   # the only one right on e3
    c = individual("c", {"e1": 1.0, "e2": 0.0, "e3": 0.0})   # best on e1 only: a subset of a's
    d = individual("d", {"e1": 0.0, "e2": 0.0, "e3": 0.0})   # best on nothing
    weights = D.example_pareto_weights([a, b, c, d])
    assert weights == {a.genome.id: 2, b.genome.id: 1}


def test_parents_are_drawn_in_proportion_and_the_aggregate_loser_still_breeds():
    a = individual("a", {f"e{i}": 1.0 for i in range(6)} | {"x": 0.0})
    b = individual("b", {f"e{i}": 0.0 for i in range(6)} | {"x": 1.0})  # worse overall, unique on x
    rng = np.random.default_rng(0)
    picks = [p.genome.instruction for _ in range(700) for p in D.example_pareto_parents([a, b], 2, rng)]
    share_b = picks.count("b") / len(picks)
    assert 0.1 < share_b < 0.2  # 1 of 7 examples
    assert D.example_pareto_parents([individual("z", {})], 2, rng) is None


def test_the_option_runs_a_search_and_resumes_with_per_example_scores():
    from evo.testing.toys import build_parts, pure_optimizer
    from evo.llm.scripted import ScriptedBackend
    from evo.run.loop import OptimizationRun
    from tests.helpers import arithmetic_suite

    suite = arithmetic_suite(n_train=8, n_val=4, n_test=4)
    spec = {"strategy": {"kind": "evolutionary", "population_size": 4, "keep": 2, "generations": 2,
                         "parent_selection": "example_pareto", "target_score": None},
            "budget": {"max_calls": 80}}
    task = ScriptedBackend(lambda r: "5")
    parts = build_parts(spec, suite, task=task, optimizer=pure_optimizer())
    result = OptimizationRun(parts.strategy, parts.evaluator, parts.budget, parts.seed_genome).run()
    assert result.steps
    state = parts.strategy.state_dict()
    assert any("examples" in ind for ind in state["population"])
    parts.strategy.load_state_dict(state)
    assert all(ind.examples for ind in parts.strategy.population)
