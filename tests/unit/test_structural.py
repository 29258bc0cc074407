"""The structural prior's variants and the budget's val-monitoring switch."""
import numpy as np
import pytest

from evo.budget import BudgetConfig
from evo.genome import PromptGenome
from evo.operators.structural import ANSWER_ONLY, combine_changes, structural_variants, with_description
from evo.testing.toys import arithmetic_suite


def test_variants_in_order_with_the_suite_description_second():
    suite = arithmetic_suite()
    seed = PromptGenome(instruction="Solve.")
    variants = structural_variants(seed, suite.split("train"), np.random.default_rng(0), suite.description)
    hows = [how for _, how in variants]
    assert hows == ["structure:demos3", "structure:description", "structure:answer_only", "structure:placement",
                    "structure:cot", "structure:demos1", "structure:demos5"]
    described = dict((how, g) for g, how in variants)["structure:description"]
    assert described.instruction == "Add two small numbers; reply with the number only. Solve."
    assert all(g.id != seed.id for g, _ in variants)


@pytest.mark.parametrize("instruction,description,expected", [
    ("Answer the question.", "Count the objects", "Count the objects. Answer the question."),
    ("Answer the question.", "  Count   the objects.  ", "Count the objects. Answer the question."),
    ("Count the objects. Be brief.", "count the objects", None),  # already there
    ("Answer the question.", "", None),
    ("Answer the question.", " . ", None),
])
def test_with_description(instruction, description, expected):
    assert with_description(instruction, description) == expected


def test_no_description_variant_without_a_description_or_when_present():
    suite = arithmetic_suite()
    for seed, description in ((PromptGenome(instruction="Solve."), ""),
                              (PromptGenome(instruction=f"{suite.description} {ANSWER_ONLY}"), suite.description)):
        hows = [h for _, h in structural_variants(seed, suite.split("train"), np.random.default_rng(0), description)]
        assert "structure:description" not in hows
    assert "structure:answer_only" not in hows  # the constraint is there already


@pytest.mark.parametrize("config,n_val,expected", [
    ({}, 40, True),  # no call cap
    ({"max_task_calls": 300}, 40, False),  # 300 < 40 x 40: the search gets the calls
    ({"max_task_calls": 1600}, 40, True),
    ({"max_calls": 300, "max_task_calls": 5000}, 8, False),  # the smaller cap counts
    ({"max_calls": 320}, 8, True),
    ({"max_task_calls": 300, "monitor_val": True}, 40, True),
    ({"monitor_val": False}, 40, False),
    ({"max_task_calls": 300, "monitor_auto_above": 5}, 40, True),
])
def test_val_monitoring_switch(config, n_val, expected):
    assert BudgetConfig(**config).monitors_val(n_val) is expected


def _variants():
    suite = arithmetic_suite()
    seed = PromptGenome(instruction="Solve.")
    return seed, {h: g for g, h in structural_variants(seed, suite.split("train"), np.random.default_rng(0),
                                                          suite.description)}


def test_combine_changes_merges_settings_and_instruction_extensions():
    seed, v = _variants()
    combined = combine_changes(seed, [v["structure:demos3"], v["structure:description"], v["structure:answer_only"],
                                      v["structure:demos5"]])
    assert combined.instruction == f"Add two small numbers; reply with the number only. Solve. {ANSWER_ONLY}"
    assert (combined.few_shot_k, combined.demo_ids) == (3, v["structure:demos3"].demo_ids)  # the first demos win
    cot = combine_changes(seed, [v["structure:cot"], v["structure:placement"]])
    assert cot.chain_of_thought and cot.max_tokens == v["structure:cot"].max_tokens and cot.placement == "system"


def test_combine_changes_takes_a_rewrite_only_over_the_base_instruction():
    seed, v = _variants()
    rewrite = seed.replace(instruction="Compute the sum.")
    assert combine_changes(seed, [rewrite, v["structure:demos3"]]).instruction == "Compute the sum."
    assert combine_changes(seed, [v["structure:answer_only"], rewrite]) is None  # = the answer-only winner
    both = combine_changes(seed, [v["structure:answer_only"], rewrite, v["structure:demos3"]])
    assert both.instruction == v["structure:answer_only"].instruction and both.few_shot_k == 3


def test_combine_changes_is_none_when_nothing_new():
    seed, v = _variants()
    assert combine_changes(seed, []) is None
    assert combine_changes(seed, [v["structure:demos3"]]) is None
    assert combine_changes(seed, [v["structure:demos3"], v["structure:demos1"]]) is None


def _additive_task_model():
    """Right on even sums when shown demos, on odd sums when told "number only": demos and the
    description each fix half of the examples, only together all of them."""
    from evo.llm.scripted import ScriptedBackend

    def respond(request):
        user = request.messages[-1][1]
        a, _, b = user.splitlines()[-1].partition(" + ")
        value = int(a) + int(b)
        told = "number only" in (request.system + "\n" + user).lower()
        shown = len(request.messages) > 1
        return str(value) if (value % 2 == 0 and shown) or (value % 2 == 1 and told) else "I like numbers"
    return ScriptedBackend(respond, name="additive")


def _components(budget_calls=5000):
    from evo.budget import Budget
    from evo.evaluation.evaluator import Evaluator
    from evo.optimizer.llm import OptimizerLLM
    from evo.testing.toys import pure_optimizer
    suite = arithmetic_suite()
    budget = Budget(BudgetConfig(max_calls=budget_calls))
    return suite, budget, OptimizerLLM(pure_optimizer(), budget, seed=0), Evaluator(_additive_task_model(), suite)


def test_evolution_tries_generation_zeros_winning_changes_together():
    from evo.run.loop import OptimizationRun
    from evo.strategies.evolutionary import EvolutionaryConfig, EvolutionaryStrategy
    suite, budget, optimizer, evaluator = _components()
    seed = PromptGenome(instruction="Solve.", max_tokens=8)
    config = EvolutionaryConfig(population_size=4, keep=2, generations=2, llm_operators=False, minibatch=0,
                                structural_prior=3, extend_to_budget=False)
    strategy = EvolutionaryStrategy(config, suite, seed, optimizer, seed=0)
    result = OptimizationRun(strategy, evaluator, budget, seed).run()
    report = strategy.report()
    assert report["generations"][1]["operators"][0] == "structure:combined"  # first child of generation 1
    combined = next(h for h in report["hall_of_fame"] if h["genome"]["operator"] == "structure:combined")
    assert combined["genome"]["few_shot_k"] == 3 and "number only" in combined["genome"]["instruction"]
    assert combined["quality"] == 1.0 > report["generations"][0]["quality_best"]
    assert result.after["train"]["mean_score"] == 1.0


def test_iterative_tries_the_winning_candidates_changes_together():
    from evo.run.loop import OptimizationRun
    from evo.strategies.iterative import IterativeConfig, IterativeStrategy
    suite, budget, optimizer, evaluator = _components()
    seed = PromptGenome(instruction="Solve.", max_tokens=8)
    config = IterativeConfig(n_candidates=1, structural_prior=3, max_train_iterations=2, max_val_iterations=0,
                             minibatch=0, extend_to_budget=False, plateau=5, structural_follow=False)
    strategy = IterativeStrategy(config, suite, seed, optimizer)
    result = OptimizationRun(strategy, evaluator, budget, seed).run()
    second = strategy.report()["iterations"][1]["candidates"]
    combined = [c for c in second if c["extracted_by"] == "structure:combined"]
    assert len(combined) == 1 and combined[0]["train"]["score"] == 1.0
    assert result.best_genome.operator == "structure:combined"
    assert not any(c["extracted_by"].startswith("structure:") and c["extracted_by"] != "structure:combined"
                   for c in second)  # without structural_follow only the first iteration tries the prior


def test_iterative_tries_the_structural_variants_of_an_accepted_change():
    """Iteration 1 accepts the description (0.6); iteration 2 tries the prior on top of it, and demos
    on the described instruction solve the suite."""
    from evo.run.loop import OptimizationRun
    from evo.strategies.iterative import IterativeConfig, IterativeStrategy
    suite, budget, optimizer, evaluator = _components()
    seed = PromptGenome(instruction="Solve.", max_tokens=8)
    config = IterativeConfig(n_candidates=1, structural_prior=3, max_train_iterations=3, max_val_iterations=0,
                             minibatch=0, extend_to_budget=False, plateau=5)
    strategy = IterativeStrategy(config, suite, seed, optimizer)
    result = OptimizationRun(strategy, evaluator, budget, seed).run()
    first, second = (strategy.report()["iterations"][i] for i in (0, 1))
    assert first["accepted"] and "number only" in first["current_instruction"]
    follow = {c["extracted_by"]: c for c in second["candidates"] if c["extracted_by"].startswith("structure:")}
    assert {"structure:demos3", "structure:answer_only", "structure:placement"} <= set(follow)
    assert all("number only" in c["instruction"] for c in follow.values())
    assert follow["structure:demos3"]["train"]["score"] == 1.0
    assert result.after["train"]["mean_score"] == 1.0
    assert len(strategy.state_dict()["expanded"]) == 2  # the seed, then the accepted description
    # the run's finalists: the current genome, then those accepted before it, newest first
    finalists = strategy.final_candidates()
    assert [g.id for g in finalists][::2] == [strategy.best().id, seed.id] and len(finalists) == 3
    assert finalists[1].instruction == first["current_instruction"]  # the accepted description, before demos
    assert finalists[1].id not in {finalists[0].id, seed.id}


def test_evolution_queues_the_structural_variants_of_a_new_best():
    """Generation 0's best (0.6: the number-only wording) is not the seed: generation 1's children after
    the combination are the prior applied to that best, and its 3-demo variant solves the suite."""
    from evo.run.loop import OptimizationRun
    from evo.strategies.evolutionary import EvolutionaryConfig, EvolutionaryStrategy
    suite, budget, optimizer, evaluator = _components()
    seed = PromptGenome(instruction="Solve.", max_tokens=8)
    config = EvolutionaryConfig(population_size=7, keep=2, generations=2, llm_operators=False, minibatch=0,
                                structural_prior=3, extend_to_budget=False, target_score=None)
    strategy = EvolutionaryStrategy(config, suite, seed, optimizer, seed=0)
    OptimizationRun(strategy, evaluator, budget, seed).run()
    report = strategy.report()
    operators = report["generations"][1]["operators"]
    # the combination and the prior's 3 variants of the best come first; the operators fill the 5th slot
    assert operators[0] == "structure:combined" and all(op.startswith("structure:") for op in operators[1:4])
    assert len(operators) == 5 and not operators[4].startswith("structure:")
    expanded = set(strategy.state_dict()["expanded"])  # the seed, generation 0's best, generation 1's best
    follower = next(h for h in report["hall_of_fame"] if h["genome"]["operator"] == "structure:demos3")
    assert follower["quality"] == 1.0 and follower["genome"]["id"] in expanded
    assert len(follower["genome"]["parents"]) == 1 and follower["genome"]["parents"][0] in expanded - {seed.id}
    assert report["generations"][0]["quality_best"] == 0.6


def test_without_follow_the_evolution_queues_only_the_combination():
    from evo.run.loop import OptimizationRun
    from evo.strategies.evolutionary import EvolutionaryConfig, EvolutionaryStrategy
    suite, budget, optimizer, evaluator = _components()
    seed = PromptGenome(instruction="Solve.", max_tokens=8)
    config = EvolutionaryConfig(population_size=5, keep=2, generations=2, llm_operators=False, minibatch=0,
                                structural_prior=3, extend_to_budget=False, target_score=None,
                                structural_follow=False)
    strategy = EvolutionaryStrategy(config, suite, seed, optimizer, seed=0)
    OptimizationRun(strategy, evaluator, budget, seed).run()
    operators = strategy.report()["generations"][1]["operators"]
    assert operators[0] == "structure:combined" and not any(op.startswith("structure:") for op in operators[1:])


def test_the_iterative_prior_draws_its_demos_from_the_run_seed():
    from evo.strategies.iterative import IterativeConfig
    from evo.strategies.iterative_proposer import IterativeProposer, ProposalContext
    suite, _, optimizer, _ = _components()
    seed = PromptGenome(instruction="Solve.", max_tokens=8)
    context = ProposalContext(seed, 1, False, "", "", "", [], "", None, affordable=lambda extra=0: 10)

    def demos(run_seed):
        proposer = IterativeProposer(IterativeConfig(structural_prior=3, minibatch=0), suite, optimizer, seed,
                                     seed=run_seed, prior=3)
        return [c.genome.demo_ids for c in proposer.structural_candidates(context, 0) if c.genome.few_shot_k]
    assert demos(0) == demos(0) and demos(0) != demos(1)
