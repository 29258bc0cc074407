"""Every strategy of the project passes the shipped StrategyConformance kit."""
from evo.testing.strategies import StrategyConformance


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
