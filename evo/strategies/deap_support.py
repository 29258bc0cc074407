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

    __slots__ = ("genome", "fitness", "objectives", "how", "examples")

    def __init__(self, genome, fitness_cls, objectives: dict | None = None, how: str = "seed"):
        self.genome = genome
        self.fitness = fitness_cls()
        self.objectives = objectives or {}
        self.how = how
        self.examples: dict[str, float] = {}  # train example id -> score (the per-example Pareto parents)

    def __eq__(self, other):
        return isinstance(other, Individual) and self.genome.id == other.genome.id

    def __hash__(self):
        return hash(self.genome.id)

    def __deepcopy__(self, memo):
        clone = Individual(self.genome, type(self.fitness), dict(self.objectives), self.how)
        clone.fitness.values = self.fitness.values
        clone.examples = dict(self.examples)
        return clone


def select_nsga2(individuals: list, k: int) -> list:
    return tools.selNSGA2(individuals, k)


def pareto_ranks(individuals: list) -> dict:
    """genome id -> non-domination rank (0 = first front)."""
    fronts = tools.sortNondominated(individuals, len(individuals))
    return {ind.genome.id: rank for rank, front in enumerate(fronts) for ind in front}


def example_pareto_weights(individuals: list) -> dict:
    """GEPA's parent pool: genome id -> the number of examples on which it has the best score of the
    population (ties count for each), for the candidates not dominated on those examples (one whose
    best examples are a strict subset of another's is dropped). Individuals without per-example scores
    are left out; {} when none has any."""
    best: dict[str, float] = {}
    for ind in individuals:
        for ex, score in ind.examples.items():
            best[ex] = max(best.get(ex, -1.0), score)
    wins = {ind.genome.id: frozenset(ex for ex, s in ind.examples.items() if s >= best[ex] - 1e-12)
            for ind in individuals if ind.examples}
    wins = {gid: w for gid, w in wins.items() if w}
    kept = {gid: w for gid, w in wins.items() if not any(w < other for o, other in wins.items() if o != gid)}
    return {gid: len(w) for gid, w in kept.items()}


def example_pareto_parents(individuals: list, k: int, rng: np.random.Generator) -> list | None:
    """``k`` parents drawn with probability proportional to ``example_pareto_weights`` (None when no
    individual has per-example scores)."""
    weights = example_pareto_weights(individuals)
    if not weights:
        return None
    by_id = {ind.genome.id: ind for ind in individuals}
    ids = sorted(weights)
    p = np.array([weights[i] for i in ids], dtype=float)
    return [by_id[ids[j]] for j in rng.choice(len(ids), size=k, p=p / p.sum())]


def tournament(individuals: list, k: int, size: int, rng: np.random.Generator, key) -> list:
    """``k`` winners of size-``size`` tournaments; ``key(ind)`` is maximized; draws from ``rng``."""
    winners = []
    for _ in range(k):
        aspirants = [individuals[i] for i in rng.integers(len(individuals), size=min(size, len(individuals)))]
        winners.append(max(aspirants, key=key))
    return winners
