"""Minibatch screening and racing: rung schedule, sign test, drop rules, per-example memo and charging."""
import pytest

from evo.budget import Budget, BudgetConfig
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.run.loop import OptimizationRun
from evo.strategies.base import EvalRequest
from evo.strategies.baseline import BaselineConfig, BaselineStrategy
from evo.strategies.racing import Race, RacingFields, rung_sizes, sign_test_worse
from tests.helpers import arithmetic_suite, keyword_task_model


def test_rung_sizes_double_and_end_at_the_split():
    assert rung_sizes(5, 40, racing=True) == [5, 10, 20, 40]
    assert rung_sizes(8, 40, racing=True) == [8, 16, 40]  # 32 is too close to 40 to add evidence
    assert rung_sizes(5, 40, racing=False) == [5, 40]
    assert rung_sizes(0, 40, racing=True) == [40] and rung_sizes(40, 40, racing=True) == [40]


def test_auto_minibatch_under_any_task_call_cap():
    fields = RacingFields()
    assert fields.minibatch_size(40, 300) == 5  # 300 calls buy 7.5 full evaluations
    assert fields.minibatch_size(160, 3000) == 10
    assert fields.minibatch_size(12, 300) == 4
    assert fields.minibatch_size(40, 100_000) == 5 and fields.minibatch_size(40, None) == 0  # any cap: screened
    assert RacingFields(racing_auto_below=40).minibatch_size(40, 100_000) == 0  # the earlier rule, on request
    assert RacingFields(minibatch=0).minibatch_size(40, 300) == 0
    assert RacingFields(minibatch=50).minibatch_size(40, 300) == 0  # not smaller than the split: off


def test_sign_test():
    assert sign_test_worse([0, 0, 0]) == 1.0
    assert sign_test_worse([-1] * 5) == pytest.approx(1 / 32)
    assert sign_test_worse([1] * 5) == 1.0
    assert sign_test_worse([-1, -1, -1, 1]) == pytest.approx(5 / 16)


def race(**kw):
    return Race(order=list("abcdefgh"), sizes=[2, 4, 8], alive=["x", "y", "z"], bar="bar", **kw)


def test_a_candidate_must_strictly_beat_the_bar_on_the_minibatch():
    r = race(halving=False)
    assert r.examples() == ("a", "b")
    r.update({"x": [1, 1], "y": [1, 0], "z": [0, 0], "bar": [1, 0]})
    assert r.alive == ["x"] and "does not beat the bar" in r.dropped["y"] and "z" in r.dropped
    assert r.examples() == ("a", "b", "c", "d")


def test_retry_sends_a_first_rung_tie_on_and_asks_it_to_beat_the_bar_on_the_second():
    r = race(halving=False, tie_retry=True)
    r.update({"x": [1, 1], "y": [1, 0], "z": [0, 0], "bar": [1, 0]})
    assert r.alive == ["x", "y"] and "z" in r.dropped  # y tied the bar: it gets twice the examples
    r.update({"x": [1, 1, 1, 1], "y": [1, 0, 1, 0], "bar": [1, 0, 1, 0]})
    assert r.alive == ["x"] and "does not beat the bar" in r.dropped["y"]  # a second tie is dropped
    assert Race.from_json(r.to_json()) == r
    old = r.to_json()
    del old["tie_retry"]  # a checkpoint written before the option: ties are dropped, as then
    assert Race.from_json(old).tie_retry is False


def test_halving_and_the_paired_test_drop_the_weak_without_a_bar():
    r = Race(order=list("abcdefgh"), sizes=[4, 8], alive=["x", "y", "z", "w"], bar=None, alpha=0.1, halving=True)
    r.update({"x": [1, 1, 1, 1], "y": [0, 0, 0, 0], "z": [1, 1, 0, 1], "w": [1, 0, 0, 1]})
    assert "sign test" in r.dropped["y"]  # 4 losses out of 4: p = 1/16
    assert r.alive == ["x", "z"] and "halving" in r.dropped["w"]
    assert r.final and r.examples() is None  # the last rung is the whole split
    r.update({"x": [0.9], "z": [0.8]})  # nothing is dropped after the last rung
    assert r.done and r.alive == ["x", "z"] and r.scored == {"x": 0.9, "y": 0.0, "z": 0.8, "w": 0.5}


def test_halving_keeps_candidates_tied_with_the_last_one_kept():
    """Two survivors of the bar tied on the minibatch: halving would keep 1, but the tie is no evidence
    for either, so both go on to the next rung."""
    r = Race(order=list("abcdefgh"), sizes=[4, 8], alive=["x", "y", "z", "w"], bar="bar", halving=True)
    r.update({"x": [1, 1, 1, 0], "y": [1, 1, 0, 0], "z": [1, 0, 1, 0], "w": [0, 0, 1, 0], "bar": [0, 0, 0, 0]})
    assert r.alive == ["x", "y", "z"] and "halving" in r.dropped["w"]  # best 2 of 4, and z tied with y


def test_halving_halves_the_candidates_that_entered_the_rung():
    """The sign test dropped two of four: the best half of the four are the two left, so halving does not
    drop the runner-up again (it lost 1 example of 8 to the leader: no evidence)."""
    r = Race(order=list("abcdefghijklmnop"), sizes=[8, 16], alive=["x", "y", "z", "w"], bar=None, halving=True)
    r.update({"x": [1] * 8, "y": [1] * 7 + [0], "z": [1] * 4 + [0] * 4, "w": [0] * 4 + [1] * 4})
    assert "sign test" in r.dropped["z"] and "sign test" in r.dropped["w"]
    assert r.alive == ["x", "y"]


def test_trim_keeps_the_best_the_budget_pays_for():
    r = race(halving=False)
    assert r.next_rung_cost(8) == 2  # the first rung: 2 examples
    r.update({"x": [1, 1], "y": [1, 0], "z": [1, 1], "bar": [0, 0]})
    assert r.alive == ["x", "y", "z"] and r.next_rung_cost(8) == 2  # examples c, d: a, b are paid
    assert r.trim(3) == [] and r.trim(0) == [] and r.alive == ["x", "y", "z"]
    assert r.trim(2) == ["y"] and r.alive == ["x", "z"] and "budget" in r.dropped["y"]
    r.update({"x": [1, 1, 0, 0], "z": [1, 1, 1, 0], "bar": [0, 0, 0, 0]})
    assert r.final and r.next_rung_cost(8) == 4  # the whole split of 8 less the 4 paid
    assert r.trim(1) == ["x"] and r.alive == ["z"]


def test_race_round_trips_json():
    r = race()
    r.update({"x": [1, 1], "y": [1, 0], "z": [0, 0], "bar": [0, 0]})
    assert Race.from_json(r.to_json()) == r


def make_loop(max_task_calls=1000):
    suite = arithmetic_suite()
    seed = PromptGenome(instruction="Solve.", max_tokens=8)
    budget = Budget(BudgetConfig(max_task_calls=max_task_calls))
    strategy = BaselineStrategy(BaselineConfig(), seed)
    return OptimizationRun(strategy, Evaluator(keyword_task_model(), suite), budget, seed), suite, seed, budget


def test_the_memo_is_per_example_and_each_example_is_charged_once():
    loop, suite, seed, budget = make_loop()
    train = [e.id for e in suite.split("train")]
    mini = tuple(train[:2])
    part = loop.evaluate_step([EvalRequest(seed, "train", examples=mini)])[0][1]
    assert [r.example_id for r in part.records] == list(mini)
    assert budget.usage["task"].calls == 2
    other = seed.replace(instruction="Add.")
    assert loop._step_cost([EvalRequest(seed, "train"), EvalRequest(other, "train", examples=mini)]) == len(train)
    full = loop.evaluate_step([EvalRequest(seed, "train"), EvalRequest(other, "train", examples=mini)])
    assert budget.usage["task"].calls == len(train) + 2  # the seed paid only for what the minibatch had not run
    assert full[0][1].records[:2] == part.records and full[0][1].n == len(train)
    assert loop.distinct_candidates() == 2
    assert loop.train_score(seed) is not None and loop.train_score(other) is None  # a point needs the whole split
    with pytest.raises(ValueError, match="not in the train split"):
        loop.evaluate_step([EvalRequest(seed, "train", examples=("nope",))])


def test_old_whole_split_charge_keys_stand_for_every_example():
    suite = arithmetic_suite()
    seed = PromptGenome(instruction="Solve.", max_tokens=8)
    budget = Budget(BudgetConfig(max_task_calls=1000))
    loop = OptimizationRun(BaselineStrategy(BaselineConfig(), seed), Evaluator(keyword_task_model(), suite), budget, seed,
                           charged_keys={(seed.id, "train", 1, False)})
    loop.evaluate_step([EvalRequest(seed, "train")])
    assert budget.usage["task"].calls == 0


def test_demo_credit_favours_demos_of_good_genomes():
    import numpy as np

    from evo.operators.demo_credit import DemoCredit

    credit = DemoCredit({i: "t" for i in "abcdef"})
    rng = np.random.default_rng(0)
    assert sorted(credit.order(list("abcdef"), rng)) == list("abcdef")  # uniform while nothing is known
    good = PromptGenome(few_shot_k=2, demo_ids=("a", "b", "c"))
    bad = PromptGenome(few_shot_k=2, demo_ids=("e", "a", "f"))
    assert credit.shown(good) == ["a", "b"] and credit.shown(PromptGenome(demo_ids=("a",))) == []
    for _ in range(3):
        credit.record(good, 0.9)
        credit.record(bad, 0.1)
    credit.record(PromptGenome(instruction="no demos"), 1.0)  # shows no demo: no credit
    assert credit.effect("b") > credit.effect("a") > credit.effect("e") and credit.effect("d") == 0.0
    assert credit.shown(bad) == ["e", "a"]
    firsts = [credit.order(list("abcdef"), rng)[0] for _ in range(200)]
    assert firsts.count("b") > firsts.count("e") * 5
    restored = DemoCredit(credit.task_of)
    restored.load_state_dict(credit.state_dict())
    assert restored.effect("b") == credit.effect("b")


@pytest.mark.parametrize("kind", ["evolutionary", "iterative"])
def test_a_strategy_races_on_with_the_racers_the_budget_left_pays_for(kind):
    """Two racers alive before the last rung (8 more train examples each) and 10 task calls left: the run
    would stop with the race unfinished; the strategy finishes it with the better racer."""
    from evo.budget import Budget
    from evo.strategies.evolutionary import EvolutionaryConfig
    from evo.strategies.iterative import IterativeConfig
    from evo.strategies.racing import Screen

    suite = arithmetic_suite()  # 10 train examples
    budget = Budget(BudgetConfig(max_task_calls=100))
    config = EvolutionaryConfig(minibatch=2, llm_operators=False) if kind == "evolutionary" else \
        IterativeConfig(minibatch=2)
    order = [e.id for e in suite.split("train")]
    screen = Screen(config, budget, len(order))  # the race driver both strategies compose
    screen.race = Race(order=order, sizes=[2, 10], alive=["weak", "strong"], bar=None, halving=False)
    screen.race.update({"weak": [1, 0], "strong": [1, 1]})
    budget.usage["task"].calls = 90
    screen.trim(screen.race.next_rung_cost(len(order)))  # 10 calls left pay for one racer's 8 examples
    assert screen.race.alive == ["strong"] and "budget" in screen.race.dropped["weak"]
    budget.usage["task"].calls = 95  # not even one: the run loop stops as before
    screen.race.alive.append("weak")
    screen.trim(screen.race.next_rung_cost(len(order)))
    assert screen.race.alive == ["strong", "weak"]
