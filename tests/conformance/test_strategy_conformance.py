"""Every strategy of the project passes the shipped StrategyConformance kit."""
from evo.testing.strategies import StrategyConformance
from examples.random_search import register as register_random_search

register_random_search()  # the worked example lives outside evo/ and registers itself


class TestIterative(StrategyConformance):
    strategy_config = {"kind": "iterative", "n_candidates": 2, "max_train_iterations": 3, "max_val_iterations": 2}


class TestEvolutionary(StrategyConformance):
    strategy_config = {"kind": "evolutionary", "population_size": 6, "keep": 3, "generations": 3, "target_score": None}


class TestEvolutionaryPareto(StrategyConformance):
    strategy_config = {"kind": "evolutionary", "population_size": 6, "keep": 3, "generations": 3, "target_score": None,
                       "mode": "pareto", "perturbation": True}


class TestHybrid(StrategyConformance):
    strategy_config = {"kind": "hybrid", "evolution_share": 0.5,
                       "evolutionary": {"population_size": 4, "keep": 2, "generations": 2, "target_score": None},
                       "iterative": {"n_candidates": 2, "max_train_iterations": 2, "max_val_iterations": 1}}


class TestBaseline(StrategyConformance):
    strategy_config = {"kind": "baseline"}


class TestRandomSearchExample(StrategyConformance):
    """examples/random_search.py: the extension guide's worked example, registered from outside evo/."""
    strategy_config = {"kind": "random_search", "batch": 3, "steps": 6}


def test_the_example_strategy_runs_in_evo_compare(tmp_path):
    from experiments.runner import run_experiment
    from tests.helpers import keyword_task_model, pure_optimizer, write_add_suite
    suite = write_add_suite(tmp_path, 8, 4, 4)
    cfg = tmp_path / "e.yaml"
    cfg.write_text(f"name: rs\nsuites: ['{suite}']\ntask_model: {{kind: scripted}}\noptimizer: {{kind: scripted}}\n"
                   "strategies: {random: {kind: random_search, batch: 2, steps: 3}}\nbudget: {max_calls: 100}\n"
                   f"tracking: {{kind: none}}\noutput_dir: '{tmp_path}/results'\nbootstrap_resamples: 100\n")
    report = run_experiment(cfg, env={},
                            backends={"task": keyword_task_model(), "optimizer": pure_optimizer()})
    assert [r["strategy"] for r in report.rows] == ["baseline", "random"]
    assert report.cells[1].result.strategy == "random_search" and len(report.cells[1].result.steps) == 4


class TestIterativeRacing(StrategyConformance):
    """Minibatch screening and racing on (a resumed run may stop in the middle of a race)."""
    strategy_config = {"kind": "iterative", "n_candidates": 3, "max_train_iterations": 3, "max_val_iterations": 2,
                       "minibatch": 2}


class TestEvolutionaryRacing(StrategyConformance):
    strategy_config = {"kind": "evolutionary", "population_size": 6, "keep": 3, "generations": 3, "target_score": None,
                       "minibatch": 2}


class TestEvolutionaryMinibatchGate(StrategyConformance):
    """One minibatch gate, then the whole split (no racing rungs)."""
    strategy_config = {"kind": "evolutionary", "population_size": 6, "keep": 3, "generations": 3, "target_score": None,
                       "minibatch": 3, "racing": False, "robustness_samples": 2}
