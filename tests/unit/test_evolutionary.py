"""Evolutionary strategy: operators, selection, objectives, stopping, Pareto mode."""
import numpy as np
import pytest

from evo.budget import Budget, BudgetConfig
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.operators.edits import edit_instruction, phrase_bank, split_phrases
from evo.operators.hyper import SearchSpace, crossover_hyper, mutate_hyper
from evo.optimizer.llm import OptimizerLLM
from evo.run.loop import OptimizationRun
from evo.strategies.evolutionary import EvolutionaryConfig, EvolutionaryStrategy, measure_objectives
from tests.helpers import arithmetic_suite, keyword_task_model, pure_optimizer, scripted_optimizer


def make(config=None, optimizer_backend=None, seed=0, budget=None, task_kw=None, **cfg):
    suite = arithmetic_suite()
    budget = budget or Budget(BudgetConfig(max_calls=5000))
    optimizer = OptimizerLLM(optimizer_backend or pure_optimizer(), budget, seed=seed)
    seed_genome = PromptGenome(instruction="Solve.", max_tokens=8)
    # whole-split evaluation: these rules are about selection and variation (screening has its own tests)
    config = config or EvolutionaryConfig(**{"population_size": 6, "keep": 3, "generations": 4, "minibatch": 0, **cfg})
    strategy = EvolutionaryStrategy(config, suite, seed_genome, optimizer, seed=seed)
    run = OptimizationRun(strategy, Evaluator(keyword_task_model(**(task_kw or {})), suite), budget, seed_genome)
    return run, strategy


def test_edits_are_valid_and_seeded():
    bank = phrase_bank("Add numbers; answer with the number only.")
    assert bank[:2] == ("Add numbers.", "answer with the number only.")
    rng = np.random.default_rng(1)
    for kind in ("add", "delete", "swap", "paraphrase"):
        new, how = edit_instruction("Compute the sum. Give the answer only.", rng, bank, kind)
        assert new != "Compute the sum. Give the answer only." and new.strip()
    assert edit_instruction("Solve.", np.random.default_rng(3), bank) == edit_instruction("Solve.", np.random.default_rng(3), bank)
    assert split_phrases("A b. C d? E") == ["A b.", "C d?", "E"]


def test_hyper_mutation_respects_bounds():
    rng = np.random.default_rng(0)
    space = SearchSpace(temperature=(0.0, 0.5), max_tokens=(4, 16), max_few_shot=2)
    g = PromptGenome(temperature=0.4, max_tokens=16)
    for _ in range(200):
        g = mutate_hyper(g, rng, space, ["a", "b", "c"], n_genes=2)
        assert 0.0 <= g.temperature <= 0.5 and 4 <= g.max_tokens <= 16 and 0 <= g.few_shot_k <= 2
    child = crossover_hyper(PromptGenome(temperature=0.1), PromptGenome(temperature=0.9, chain_of_thought=True), rng)
    assert child["temperature"] in (0.1, 0.9)


def test_evolution_improves_and_records_lineage():
    run, strategy = make()
    result = run.run()
    assert result.after["train"]["pass_rate"] > result.before["train"]["pass_rate"]
    best = result.best_genome
    assert best.parents and best.operator != "seed"
    generations = strategy.report()["generations"]
    assert len(generations) == len(result.steps)
    gen0 = generations[0]
    assert gen0["nevals"] == 6 and set(gen0) >= {"quality_best", "quality_mean", "quality_median", "diversity",
                                                "latency_ms_mean", "tokens_mean", "robustness_mean"}


def test_population_sizes_and_dedup():
    run, strategy = make(target_score=None)
    run.run()
    report = strategy.report()
    assert [rec["nevals"] for rec in report["generations"]][:3] == [6, 3, 3]
    ids = [member["id"] for member in report["population"]]
    assert len(ids) == len(set(ids)) == 3


def test_llm_free_mode_makes_no_optimizer_calls():
    opt = pure_optimizer()
    run, strategy = make(optimizer_backend=opt, llm_operators=False)
    result = run.run()
    assert opt.calls == 0 and result.budget["usage"]["optimizer"]["calls"] == 0
    assert all(not op.startswith("llm") for rec in strategy.report()["generations"] for op in rec["operators"])


def test_unusable_llm_output_falls_back_to_edits():
    run, strategy = make(optimizer_backend=scripted_optimizer(["", "no tags here"]), generations=2)
    run.run()
    hows = [h for rec in strategy.report()["generations"] for h in rec["operators"]]
    assert any("fallback:" in h for h in hows)


def test_objectives_measured_from_batches():
    suite = arithmetic_suite()
    ev = Evaluator(keyword_task_model(latency_s=0.002), suite)
    batch = ev.evaluate(PromptGenome(instruction="Compute it.", temperature=0.5), suite.split("train"), samples=2)
    obj = measure_objectives([batch])
    assert obj["quality"] == 0.0 and obj["latency_ms"] >= 2.0 and obj["tokens"] > 0 and obj["robustness"] == 1.0


def test_target_stop_and_patience_stop():
    run, strategy = make(target_score=0.5)
    assert "target quality" in run.run().stop_reason
    run, strategy = make(optimizer_backend=scripted_optimizer([""]), llm_operators=True, patience=1,
                         generations=20, target_score=None, operator_weights={"simplify": 1.0}, extend_to_budget=False)
    assert "no improvement" in run.run().stop_reason or "diversity" in strategy.stop_reason


def test_pareto_mode_uses_nsga2_and_reports_front():
    run, strategy = make(mode="pareto", objectives=("quality", "tokens"), target_score=None)
    result = run.run()
    front = strategy.pareto_front()
    assert front and all({"quality", "tokens", "latency_ms"} <= set(p) for p in front)
    # no member of the front dominates another
    for a in front:
        for b in front:
            assert not (a["quality"] >= b["quality"] and a["tokens"] <= b["tokens"] and
                        (a["quality"] > b["quality"] or a["tokens"] < b["tokens"]))
    assert result.best_genome.id in {p["id"] for p in front} | {g.id for g in strategy.final_candidates()}


def test_perturbation_and_samples_feed_robustness():
    run, strategy = make(perturbation=True, robustness_samples=2, generations=1)
    result = run.run()
    assert all("robustness" in member for member in strategy.report()["population"])
    # 6 genomes x (train x 2 samples + perturbed train) in generation 0
    assert result.budget["usage"]["task"]["calls"] >= 6 * 10 * 3


def test_keep_must_be_smaller_than_population():
    with pytest.raises(ValueError):
        make(config=EvolutionaryConfig(population_size=4, keep=4))
