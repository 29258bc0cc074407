"""A run with a generous budget and small strategy caps uses its budget (>= 95%) or says why not;
``extend_to_budget: false`` makes the caps final."""
import pytest

from evo.run_loop import OptimizationRun
from tests.helpers import arithmetic_suite, build_parts, keyword_task_model, scripted_optimizer, tagged

SMALL_CAPS = {
    "iterative": {"kind": "iterative", "n_candidates": 2, "max_train_iterations": 1, "max_val_iterations": 1},
    "evolutionary": {"kind": "evolutionary", "population_size": 4, "keep": 2, "generations": 1, "target_score": None},
    "hybrid": {"kind": "hybrid", "evolutionary": {"population_size": 4, "keep": 2, "generations": 1, "target_score": None},
               "iterative": {"n_candidates": 2, "max_train_iterations": 1, "max_val_iterations": 1}},
}


def run(strategy: dict, max_calls: int = 300):
    mediocre = scripted_optimizer([tagged(f"Compute it, variant {i}.") for i in range(200)])  # never 100%
    parts = build_parts({"strategy": strategy, "budget": {"max_calls": max_calls}}, arithmetic_suite(),
                        task=keyword_task_model(), optimizer=mediocre)
    return OptimizationRun(parts.strategy, parts.evaluator, parts.budget, parts.seed_genome).run()


@pytest.mark.parametrize("kind", list(SMALL_CAPS))
def test_small_caps_do_not_leave_the_budget_unused(kind):
    result = run(SMALL_CAPS[kind])
    usage = result.budget["usage"]
    used = usage["task"]["calls"] + usage["optimizer"]["calls"]
    assert used >= 0.95 * 300, (used, result.stop_reason)
    assert used <= 300  # and never more
    assert "budget" in result.stop_reason and result.budget["calls_left"] == 300 - used


@pytest.mark.parametrize("kind", ["iterative", "evolutionary"])
def test_extend_to_budget_false_keeps_the_caps(kind):
    result = run({**SMALL_CAPS[kind], "extend_to_budget": False})
    assert "budget" not in result.stop_reason and result.budget["calls_left"] > 100
    assert result.strategy_report["extensions"] == []


def test_extensions_are_reported():
    result = run(SMALL_CAPS["iterative"])
    report = result.strategy_report
    assert report["rounds"] > 1 and report["extensions"][0]["stopped"].startswith("validation")
    assert run(SMALL_CAPS["evolutionary"]).strategy_report["extensions"][0]["stopped"] == "1 generations done"
