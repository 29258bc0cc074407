"""A winner only when it is one (``evo.run.recommend``): the seed is recommended unless the winner is
significantly better on validation and keeps the seed's choice labels."""
import pytest

from evo.budget import Budget, BudgetConfig
from evo.evaluation.evaluator import Evaluator
from evo.evaluation.records import EvalBatch, ExampleRecord
from evo.genome import PromptGenome, stable_hash
from evo.llm.scripted import ScriptedBackend
from evo.optimizer.llm import OptimizerLLM
from evo.run.loop import OptimizationRun
from evo.run.recommend import recommend
from evo.strategies.evolutionary import EvolutionaryConfig, EvolutionaryStrategy
from evo.tasks.checks import ChoiceCheck
from evo.tasks.suite import Example, Task, TaskSuite
from tests.helpers import arithmetic_suite, keyword_task_model, pure_optimizer

SEED = PromptGenome(instruction="Solve.")
WINNER = PromptGenome(instruction="Solve. Reply with the number only.")


def batch(genome, scores):
    return EvalBatch(genome.id, tuple(ExampleRecord(f"v{i}", "t", "val", "", "", "", "", s, s == 1.0)
                                      for i, s in enumerate(scores)))


def test_a_real_gain_is_recommended():
    rec = recommend(SEED, WINNER, batch(SEED, [0] * 10 + [1] * 2), batch(WINNER, [1] * 11 + [0]), arithmetic_suite())
    assert rec.use_winner and rec.genome_id == WINNER.id and rec.p_value < 0.05
    assert (rec.wins, rec.losses, rec.n_val) == (10, 1, 12) and "use the winner" in rec.reason


def test_noise_is_not():
    rec = recommend(SEED, WINNER, batch(SEED, [1, 0, 0, 1, 0, 0]), batch(WINNER, [1, 1, 0, 0, 1, 0]),
                    arithmetic_suite())
    assert not rec.use_winner and rec.genome_id == SEED.id and rec.p_value >= 0.05
    assert "not significantly better" in rec.reason and "p=" in rec.reason


def test_a_tie_on_validation_keeps_the_seed():
    """The ticket suite of the issue: chosen over the seed on a 0.000 vs 0.000 validation tie."""
    rec = recommend(SEED, WINNER, batch(SEED, [0] * 12), batch(WINNER, [0] * 12), arithmetic_suite())
    assert not rec.use_winner and "not better on validation" in rec.reason


def test_no_validation_examples_keeps_the_seed():
    rec = recommend(SEED, WINNER, batch(SEED, []), batch(WINNER, []), arithmetic_suite())
    assert not rec.use_winner and "no validation examples" in rec.reason


def test_the_seed_itself_is_no_winner():
    rec = recommend(SEED, SEED, batch(SEED, [1] * 6), batch(SEED, [1] * 6), arithmetic_suite())
    assert not rec.use_winner and "nothing better" in rec.reason


def test_a_winner_that_drops_a_label_is_never_recommended():
    task = Task("ticket", "{text}", (ChoiceCheck(choices=["billing", "bug", "account", "other"]),))
    suite = TaskSuite("tickets", (task,), tuple(Example(f"v{i}", "ticket", {"text": "x"}, "bug", "val")
                                               for i in range(12)))
    seed = PromptGenome(instruction="Classify as billing, bug, account or other.")
    winner = PromptGenome(instruction="Classify as billing, bug or account.")
    rec = recommend(seed, winner, batch(seed, [0] * 12), batch(winner, [1] * 12), suite)
    assert not rec.use_winner and rec.dropped_labels == ["other"] and "'other'" in rec.reason


def _run(task_model, max_calls=400):
    suite = arithmetic_suite(n_train=10, n_val=12, n_test=6)
    budget = Budget(BudgetConfig(max_calls=max_calls))
    optimizer = OptimizerLLM(pure_optimizer(), budget, seed=0)
    config = EvolutionaryConfig(population_size=6, keep=3, generations=3, minibatch=0)
    strategy = EvolutionaryStrategy(config, suite, SEED, optimizer, seed=0)
    return OptimizationRun(strategy, Evaluator(task_model, suite), budget, SEED).run()


def test_a_run_with_a_real_gain_recommends_its_winner():
    result = _run(keyword_task_model())
    assert result.after["val"]["pass_rate"] > result.before["val"]["pass_rate"]
    assert result.recommendation["use_winner"] and result.recommended_genome == result.best_genome


def test_a_run_whose_winner_is_noise_recommends_the_seed():
    """A task model that is right on a pseudo-random half of the examples, whatever the prompt says:
    search picks whichever candidate was luckiest on train; on validation it is no better than the seed."""
    def coin(request):
        user = request.messages[-1][1]
        a, _, b = user.splitlines()[-1].partition(" + ")
        lucky = int(stable_hash([request.system, user, len(request.messages)], size=4), 16) % 2
        return str(int(a) + int(b) + (0 if lucky else 1))

    result = _run(ScriptedBackend(coin, name="coin"))
    assert result.best_genome.id != SEED.id  # the search did pick a "winner"
    assert not result.recommendation["use_winner"] and result.recommended_genome == SEED
    assert result.to_json()["recommendation"]["reason"].startswith("keep the seed prompt")
