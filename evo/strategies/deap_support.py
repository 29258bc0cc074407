"""Everything the evolutionary strategy takes from DEAP (the only module importing it).

We use DEAP's data structures and its deterministic NSGA-II selection; we do not use ``deap.creator``
(a global registry that breaks repeated runs and pickling) nor DEAP's tournament (it draws from the
global ``random``): parents are drawn by ``tournament`` below from an explicit numpy Generator.
"""
from __future__ import annotations

import numpy as np
from deap import base, tools

OBJECTIVES = ("quality", "latency_ms", "tokens", "robustness")
DIRECTIONS = {"quality": 1.0, "latency_ms": -1.0, "tokens": -1.0, "robustness": 1.0}

HallOfFame = tools.HallOfFame
ParetoFront = tools.ParetoFront
Logbook = tools.Logbook


class ScalarFitness(base.Fitness):
    weights = (1.0,)


def pareto_fitness_class(objectives: tuple[str, ...]):
    """A ``base.Fitness`` subclass whose weights follow each objective's direction."""
    return type("ParetoFitness", (base.Fitness,), {"weights": tuple(DIRECTIONS[o] for o in objectives)})


class Individual:
    """A genome with its DEAP fitness and its measured objectives. Equality is genome identity."""

    __slots__ = ("genome", "fitness", "objectives", "how")

    def __init__(self, genome, fitness_cls, objectives: dict | None = None, how: str = "seed"):
        self.genome = genome
        self.fitness = fitness_cls()
        self.objectives = objectives or {}
        self.how = how

    def __eq__(self, other):
        return isinstance(other, Individual) and self.genome.id == other.genome.id

    def __hash__(self):
        return hash(self.genome.id)

    def __deepcopy__(self, memo):
        clone = Individual(self.genome, type(self.fitness), dict(self.objectives), self.how)
        clone.fitness.values = self.fitness.values
        return clone


def select_nsga2(individuals: list, k: int) -> list:
    return tools.selNSGA2(individuals, k)


def pareto_ranks(individuals: list) -> dict:
    """genome id -> non-domination rank (0 = first front)."""
    fronts = tools.sortNondominated(individuals, len(individuals))
    return {ind.genome.id: rank for rank, front in enumerate(fronts) for ind in front}


def tournament(individuals: list, k: int, size: int, rng: np.random.Generator, key) -> list:
    """``k`` winners of size-``size`` tournaments; ``key(ind)`` is maximized; draws from ``rng``."""
    winners = []
    for _ in range(k):
        aspirants = [individuals[i] for i in rng.integers(len(individuals), size=min(size, len(individuals)))]
        winners.append(max(aspirants, key=key))
    return winners
