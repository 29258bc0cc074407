"""A run with a generous budget and small strategy caps uses its budget (>= 95%) or says why not;
``extend_to_budget: false`` makes the caps final."""
import pytest

from evo.run.loop import OptimizationRun
from tests.helpers import arithmetic_suite, build_parts, keyword_task_model, scripted_optimizer, tagged

# structural_prior: 0 — the toy suite's description names the keyword that solves it, and these
# scenarios need a search that does not end at 100% in its first iteration
SMALL_CAPS = {
    "iterative": {"kind": "iterative", "n_candidates": 2, "max_train_iterations": 1, "max_val_iterations": 1,
                  "structural_prior": 0},
    "evolutionary": {"kind": "evolutionary", "population_size": 4, "keep": 2, "generations": 1, "target_score": None},
    "hybrid": {"kind": "hybrid", "evolutionary": {"population_size": 4, "keep": 2, "generations": 1, "target_score": None,
                                                  "structural_prior": 0},
               "iterative": {"n_candidates": 2, "max_train_iterations": 1, "max_val_iterations": 1,
                             "structural_prior": 0}},
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
    used = sum(u["calls"] for u in usage.values())  # task, optimizer and monitoring calls
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


@pytest.mark.parametrize("kind", list(SMALL_CAPS))
def test_the_call_budget_is_a_hard_cap(kind):
    """A budget smaller than one generation 0: no call beyond it, of any role (it used to spend 60
    optimizer calls building generation 0 under --max-calls 40)."""
    strategy = dict(SMALL_CAPS[kind])
    if kind == "evolutionary":
        strategy.update(population_size=12, keep=6, init_llm_variants=12)
    for max_calls in (5, 12, 40):
        result = run(strategy, max_calls=max_calls)
        assert sum(u["calls"] for u in result.budget["usage"].values()) <= max_calls, (max_calls, result.budget)


def test_max_calls_zero_is_an_error(add_suite, capsys):
    from evo.cli.main import main
    assert main(["optimize", str(add_suite), "--max-calls", "0"]) == 2
    assert "budget.max_calls: Input should be greater than or equal to 1" in capsys.readouterr().err


def test_progress_eta_from_the_budget_used():
    from evo.cli.progress import budget_fraction, eta_s
    record = {"task_calls": 90, "optimizer_calls": 10, "monitor_calls": 20, "wall_s": 60.0}
    assert budget_fraction(record, 300) == pytest.approx(0.4)
    assert eta_s(record, 300) == pytest.approx(90.0)  # 60 s for 40%: 90 s for the other 60%
    assert eta_s(record, None) is None and eta_s({**record, "task_calls": 400}, 300) == 0.0
