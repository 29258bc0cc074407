"""``final_pool: halvings``: the prompts compared on val at the end include the finalists the run had at
each halving of its task-call cap, so a run given twice the budget compares everything the smaller run
compared (same seed, same steps first) and its choice is never worse on val."""
import pytest

from evo.budget import Budget, BudgetConfig
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.optimizer.llm import OptimizerLLM
from evo.run.loop import OptimizationRun
from evo.strategies.evolutionary import EvolutionaryConfig, EvolutionaryStrategy
from tests.helpers import arithmetic_suite, keyword_task_model, pure_optimizer

SEED = PromptGenome(instruction="Solve.")


def _loop(cap: int, pool: str = "halvings", minibatch=0) -> OptimizationRun:
    suite = arithmetic_suite(n_train=8, n_val=10, n_test=4)
    budget = Budget(BudgetConfig(max_task_calls=cap))
    optimizer = OptimizerLLM(pure_optimizer(), budget, seed=0)
    config = EvolutionaryConfig(population_size=4, keep=2, generations=2, minibatch=minibatch, target_score=None)
    strategy = EvolutionaryStrategy(config, suite, SEED, optimizer, seed=0)
    return OptimizationRun(strategy, Evaluator(keyword_task_model(), suite), budget, SEED, final_pool=pool)


def test_halvings_of_the_cap_down_to_one_training_split():
    assert _loop(200).halvings() == [100, 50, 25, 12]  # 8 training examples
    assert _loop(200, pool="last").halvings() == []


def test_each_halving_records_the_finalists_once_and_they_join_the_final_pool():
    loop = _loop(200)
    result = loop.run()
    marked = [s for s in result.steps if s.get("finalists")]
    spans = [(result.steps[s["step"] - 1]["task_calls"] if s["step"] else 0, s["task_calls"]) for s in marked]
    for mark in loop.halvings():  # the first step that passes a halving records it (one step may pass two)
        assert sum(before <= mark < after for before, after in spans) == 1
    assert all(any(before <= mark < after for mark in loop.halvings()) for before, after in spans)
    pool = {g.id for g in result.final_candidates}
    assert {gid for s in marked for gid in s["finalists"]} <= pool
    assert {s["id"] for s in result.final_selection} == pool


@pytest.mark.parametrize("minibatch", [0, 4])
def test_a_doubled_budget_compares_what_the_smaller_run_compared(minibatch):
    small, large = _loop(120, minibatch=minibatch).run(), _loop(240, minibatch=minibatch).run()
    small_pool = {g.id for g in small.final_candidates}
    assert small_pool <= {g.id for g in large.final_candidates}
    val = {s["id"]: s["val_score"] for s in large.final_selection}
    small_val = {s["id"]: s["val_score"] for s in small.final_selection}
    assert max(val.values()) >= max(small_val.values())
    assert val[large.best_genome.id] == max(val.values())


def test_last_compares_only_the_strategys_own_finalists():
    loop = _loop(200, pool="last")
    result = loop.run()
    assert not any("finalists" in s for s in result.steps)
    assert [g.id for g in result.final_candidates] == [g.id for g in loop.strategy.final_candidates()]
