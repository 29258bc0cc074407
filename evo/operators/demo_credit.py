"""Demos chosen by their measured effect (MIPROv2's bootstrapping idea, on labeled demos).

Every genome measured on the whole training split credits the demos it showed (the first
``few_shot_k`` of its ``demo_ids`` for each task) with its quality. A demo's effect is how much the
genomes showing it scored above the mean of all genomes that showed demos, shrunk toward 0 by one
pseudo-observation (a demo seen once is barely trusted). ``order`` draws a demo order where
demos of higher effect tend to come first (Gumbel-top-k sampling with weights ``exp(effect / tau)``),
so demo mutations keep exploring while favouring demos that helped. Pure bookkeeping; the random
generator is the caller's.
"""
from __future__ import annotations

import numpy as np

from evo.genome import PromptGenome
from evo.operators.demo_order import balance_labels


class DemoCredit:
    def __init__(self, task_of: dict[str, str], tau: float = 0.1, label_of: dict[str, str] | None = None):
        self.task_of = dict(task_of)  # example id -> task name
        self.label_of = dict(label_of or {})  # example id -> expected-answer label (demo_order)
        self.tau = tau
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.total = 0.0
        self.n = 0

    def shown(self, genome: PromptGenome) -> list[str]:
        """The demos ``genome`` shows (``PromptGenome.shown_demos``, every task)."""
        return genome.shown_demos(self.task_of.get)

    def record(self, genome: PromptGenome, quality: float) -> None:
        demos = self.shown(genome) if genome.few_shot_k else []
        if not demos:
            return
        self.total += quality
        self.n += 1
        for demo in demos:
            self.sums[demo] = self.sums.get(demo, 0.0) + quality
            self.counts[demo] = self.counts.get(demo, 0) + 1

    def effect(self, demo: str) -> float:
        if not self.n or demo not in self.counts:
            return 0.0
        mean = self.total / self.n
        return (self.sums[demo] - self.counts[demo] * mean) / (self.counts[demo] + 1)

    def order(self, ids: list[str], rng: np.random.Generator) -> list[str]:
        """``ids`` in a random order favouring demos of higher effect (uniform while nothing is known),
        label-balanced on classification-like tasks when labels are known (``evo.operators.demo_order``)."""
        if not self.counts:
            order = [ids[i] for i in rng.permutation(len(ids))]
        else:
            keys = np.array([self.effect(i) / self.tau for i in ids]) + rng.gumbel(size=len(ids))
            order = [ids[i] for i in np.argsort(-keys, kind="stable")]
        return balance_labels(order, self.task_of, self.label_of) if self.label_of else order

    def state_dict(self) -> dict:
        return {"sums": self.sums, "counts": self.counts, "total": self.total, "n": self.n}

    def load_state_dict(self, state: dict) -> None:
        self.sums, self.counts = dict(state["sums"]), dict(state["counts"])
        self.total, self.n = state["total"], state["n"]
