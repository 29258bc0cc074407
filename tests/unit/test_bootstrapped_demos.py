"""Bootstrapped demos (MIPROv2's idea): a demo answered by the task model's own passing reply."""
import numpy as np
import pytest

from evo.budget import Budget, BudgetConfig
from evo.evaluation.evaluator import Evaluator
from evo.evaluation.records import EvalBatch, ExampleRecord
from evo.evaluation.render import render_context, render_live, render_request
from evo.genome import MAX_DEMO_ANSWER, PromptGenome
from evo.operators.structural import bootstrapped_demos, passed_replies
from evo.optimizer.llm import OptimizerLLM
from evo.run.loop import OptimizationRun
from evo.strategies.evolutionary import EvolutionaryConfig, EvolutionaryStrategy
from evo.strategies.iterative import IterativeConfig, IterativeStrategy
from tests.helpers import arithmetic_suite, keyword_task_model, pure_optimizer

SEED = PromptGenome(instruction="Solve.")
PARTLY = PromptGenome(instruction="Give the number only, small only.")  # the keyword model is right on small results only


def record(i, passed, output="x", **kw):
    return ExampleRecord(f"t{i}", "t", "train", "", "", output, output, float(passed), passed, **kw)


def test_an_empty_demo_answers_leaves_ids_and_json_as_before():
    g = PromptGenome(instruction="Solve.", few_shot_k=1, demo_ids=("a",))
    assert "demo_answers" not in g.to_json() and "demo_answers" not in g.content()
    own = g.replace(demo_answers={"a": "1 + 1 = 2"})
    assert own.id != g.id and own.to_json()["demo_answers"] == {"a": "1 + 1 = 2"}
    assert PromptGenome.from_json(own.to_json()) == own


def test_answers_must_belong_to_demos_and_follow_them():
    with pytest.raises(ValueError, match="not demos"):
        PromptGenome(demo_ids=("a",), demo_answers={"b": "x"})
    with pytest.raises(ValueError, match="longer than"):
        PromptGenome(demo_ids=("a",), demo_answers={"a": "x" * (MAX_DEMO_ANSWER + 1)})
    g = PromptGenome(few_shot_k=2, demo_ids=("a", "b"), demo_answers={"a": "x", "b": "y"})
    assert g.replace(demo_ids=("b", "c")).demo_answers == {"b": "y"}  # a resampled demo loses its answer


def test_a_bootstrapped_demo_is_rendered_verbatim_in_evaluation_and_serving():
    suite = arithmetic_suite(n_train=6, n_val=2, n_test=2)
    demo = suite.split("train")[0]
    genome = SEED.replace(few_shot_k=1, demo_ids=(demo.id,), demo_answers={demo.id: "2 + 3 = 5"})
    example = suite.split("test")[0]
    request = render_request(genome, example, suite.task(example.task), suite)
    assert request.messages[1] == ("assistant", "2 + 3 = 5")
    gold = render_request(SEED.replace(few_shot_k=1, demo_ids=(demo.id,)), example, suite.task(example.task), suite)
    assert gold.messages[1] == ("assistant", str(demo.expected))
    live = render_live(genome, render_context(genome, suite), dict(example.inputs))
    assert live.messages == request.messages


def test_passed_replies_keep_clean_passes_only():
    batch = EvalBatch("g", (record(0, True, "4"), record(1, False, "5"), record(2, True, "7", copied_demo=True),
                            record(3, True, "x" * (MAX_DEMO_ANSWER + 1)), record(4, True, "  ")))
    assert passed_replies(batch) == {"t0": "4"}


def test_bootstrapped_demos_draw_from_passed_examples_with_their_replies():
    suite = arithmetic_suite(n_train=10, n_val=2, n_test=2)
    train = suite.split("train")
    replies = {e.id: f"reply {e.id}" for e in train[:5]}
    own = bootstrapped_demos(SEED, replies, train, np.random.default_rng(0))
    assert own.few_shot_k == 3 and len(own.demo_ids) == 4  # a spare: an example is never its own demo
    assert set(own.demo_ids[:3]) <= set(replies) and own.demo_ids[3] not in replies
    assert own.demo_answers == {i: replies[i] for i in own.demo_ids[:3]}
    few = bootstrapped_demos(SEED, dict(list(replies.items())[:1]), train, np.random.default_rng(0))
    assert len(few.demo_ids) == 4 and list(few.demo_answers) == [few.demo_ids[0]]  # the rest: expected answers
    assert bootstrapped_demos(SEED, {}, train, np.random.default_rng(0)) is None


def _loop(kind, bootstrap=True):
    suite = arithmetic_suite(n_train=10, n_val=6, n_test=4)
    budget = Budget(BudgetConfig(max_calls=300))
    optimizer = OptimizerLLM(pure_optimizer(), budget, seed=0)
    if kind == "evolutionary":
        config = EvolutionaryConfig(population_size=4, keep=2, generations=2, minibatch=0, bootstrap_demos=bootstrap,
                                    target_score=None)
        strategy = EvolutionaryStrategy(config, suite, PARTLY, optimizer, seed=0)
    else:
        config = IterativeConfig(n_candidates=1, max_train_iterations=2, max_val_iterations=1, minibatch=0,
                                 bootstrap_demos=bootstrap, structural_prior=1)
        strategy = IterativeStrategy(config, suite, PARTLY, optimizer, seed=0)
    return OptimizationRun(strategy, Evaluator(keyword_task_model(), suite), budget, PARTLY), suite


@pytest.mark.parametrize("kind", ["evolutionary", "iterative"])
@pytest.mark.parametrize("bootstrap", [True, False])
def test_a_run_with_bootstrap_demos_evaluates_the_seed_with_its_own_replies_as_demos(kind, bootstrap):
    loop, suite = _loop(kind, bootstrap)
    loop.run()
    evaluated = set(loop.memo.genomes())
    own = [g for g in loop.genomes.values() if g.operator == "structure:demos3-own" and g.id in evaluated]
    assert bool(own) == bootstrap
    assert not own or own[0].parents == (PARTLY.id,)  # iterative: each new current genome gets one too
    for g in own:
        assert g.few_shot_k == 3 and set(g.demo_answers) == set(g.demo_ids[:3])
        by_id = {e.id: e for e in suite.split("train")}
        # the seed's own replies: what the keyword model answered, which passed the example's checks
        assert all(a == str(by_id[i].expected) and int(a) <= 6 for i, a in g.demo_answers.items())
