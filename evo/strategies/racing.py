"""Minibatch screening and racing: spend full evaluations only on candidates that earn them.

A ``Race`` runs candidates over growing prefixes ("rungs") of one shuffled order of the training
examples — ``minibatch``, then twice that, and so on up to the whole split — against a ``bar``: the
incumbent a candidate must beat to matter (the current instruction for the iterative strategy, the
population member a child would displace for the evolutionary one). The bar was evaluated on the
whole split, so its per-example scores on any prefix cost nothing (the run loop memoizes per
(genome, example)). Every comparison is paired: all candidates of a race see the same examples.

After each rung but the last, a candidate is dropped when
1. it does not strictly beat the bar on the prefix (GEPA's minibatch acceptance: a tie is no evidence;
   ``racing_ties: retry`` sends a first-rung tie on to the second rung instead);
2. a one-sided paired sign test says it is worse than the rung's leader (p < ``alpha``; irace's
   racing idea, with an exact test that needs no distributional assumption); or
3. it scores below the best ``ceil(n / 2)`` of the ``n`` that entered the rung (successive halving),
   when ``halving`` is on: 1 and 2 do not count twice, and candidates tied with the last one kept
   stay (a tie on a few examples says nothing).
When the budget left cannot pay for the next rung of every candidate alive, the strategy keeps the
best it can pay for (``trim``) rather than stopping with the race unfinished.
Candidates alive after the last rung have been evaluated on the whole split: they get full fitness.
Pure logic: no model calls, no randomness (the strategy passes the order it drew).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from evo.config_base import StrictConfig


class RacingFields(StrictConfig):
    """Strategy config fields (both strategies inherit them). ``minibatch``: first-rung size (0: off,
    every candidate on the whole training split; ``auto``: on whenever the run has a task-call cap,
    sized ``clamp(n_train // 8, 4, 10)``: 5 examples of 40 — GEPA screens on 3; at 300 calls on a
    40-example split, 5 evaluated 1.1–1.7x the candidates of 10 at the same held-out scores,
    benchmarks/quality). The size never depends on the cap, so a run given more calls takes the same
    steps first (with one seed) and goes on from there. ``racing_auto_below: N`` restores the earlier
    rule (off when the cap buys N full evaluations of the split): at 1,500 calls on dates it evaluated 47
    candidates in full and its choice scored 0.643 on test, against 194 screened and 0.833 with racing.
    ``racing``: after the minibatch, rungs double up to the whole split with the paired test and
    halving; false: minibatch survivors go straight to the whole split (GEPA's single gate)."""

    minibatch: int | Literal["auto"] = Field("auto", description="first-rung size of candidate screening; 0: off")
    racing: bool = Field(True, description="race minibatch survivors over doubling rungs (paired sign test, halving)")
    racing_alpha: float = Field(0.1, gt=0, lt=1)
    racing_auto_below: int | None = Field(None, ge=1, description="with `minibatch: auto`, screen only when the "
                                          "task-call cap buys fewer than this many full evaluations of the "
                                          "training split; null: whenever there is a cap")
    racing_ties: Literal["drop", "retry"] = Field(
        "drop", description="a candidate that ties the bar on the first rung: `drop` it (GEPA's strict minibatch "
        "acceptance); `retry`: it goes on to the second rung (twice the examples), where it must beat the bar")

    def minibatch_size(self, n_train: int, task_calls: int | None) -> int:
        """The first-rung size for a split of ``n_train`` under ``task_calls`` (None: unlimited); 0: none."""
        if self.minibatch == "auto":
            if task_calls is None or (self.racing_auto_below is not None
                                      and task_calls >= self.racing_auto_below * n_train):
                return 0
            size = min(10, max(4, n_train // 8))
        else:
            size = self.minibatch
        return size if 0 < size < n_train else 0


def task_call_budget(budget) -> int | None:
    """The task calls a budget allows at most (None: no call cap): ``BudgetConfig.task_call_cap``."""
    return budget.config.task_call_cap


def rung_sizes(minibatch: int, n: int, racing: bool) -> list[int]:
    """Prefix sizes: ``minibatch``, doubling (with ``racing``), always ending at ``n``."""
    if not minibatch or minibatch >= n:
        return [n]
    sizes, size = [], minibatch
    while size < n:
        sizes.append(size)
        if not racing:
            break
        size *= 2
    # a last rung barely larger than the one before adds little evidence: go to n directly
    if racing and len(sizes) > 1 and n - sizes[-1] <= minibatch:
        sizes.pop()
    return sizes + [n]


def sign_test_worse(diffs: list[float]) -> float:
    """One-sided exact sign-test p-value that a candidate is worse than the leader, from per-example
    differences (candidate - leader); ties carry no information and are left out."""
    losses = sum(1 for d in diffs if d < -1e-12)
    wins = sum(1 for d in diffs if d > 1e-12)
    n = losses + wins
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(losses, n + 1)) / 2 ** n


@dataclass
class Race:
    """One race over ``order`` (example ids) with rungs ``sizes``; ``alive`` candidate ids, ``bar`` the
    incumbent id (None: no bar, e.g. nothing evaluated yet). JSON round-trip: ``to_json``/``from_json``."""

    order: list[str]
    sizes: list[int]
    alive: list[str]
    bar: str | None = None
    alpha: float = 0.1
    halving: bool = True
    tie_retry: bool = False  # a tie with the bar on the first rung goes on to the second
    rung: int = 0
    dropped: dict[str, str] = field(default_factory=dict)  # candidate id -> why, at which rung
    scored: dict[str, float] = field(default_factory=dict)  # last prefix mean of every candidate

    @property
    def final(self) -> bool:
        """The current rung is the whole split."""
        return self.rung == len(self.sizes) - 1

    @property
    def done(self) -> bool:
        return not self.alive or self.rung >= len(self.sizes)

    def examples(self) -> tuple[str, ...] | None:
        """The current rung's example ids; None on the last rung (the whole split)."""
        return None if self.final else tuple(self.order[: self.sizes[self.rung]])

    def update(self, scores: dict[str, list[float]]) -> None:
        """Per-example scores on the current rung (same order for every genome; the bar's included when
        there is one); drops candidates (not after the last rung) and moves to the next rung."""
        means = {gid: sum(v) / len(v) if v else 0.0 for gid, v in scores.items()}
        self.scored.update({gid: means[gid] for gid in self.alive})
        entered = len(self.alive)
        if not self.final:
            rung = self.rung
            bar = means.get(self.bar) if self.bar is not None else None
            if bar is not None:
                retry = self.tie_retry and rung == 0
                for gid in list(self.alive):
                    if means[gid] < bar - 1e-12 or (means[gid] <= bar + 1e-12 and not retry):
                        self._drop(gid, f"rung {rung}: {means[gid]:.3f} does not beat the bar {bar:.3f}")
            if self.alive:
                leader = max(self.alive, key=lambda g: (means[g], g))
                for gid in list(self.alive):
                    if gid == leader:
                        continue
                    p = sign_test_worse([a - b for a, b in zip(scores[gid], scores[leader])])
                    if p < self.alpha:
                        self._drop(gid, f"rung {rung}: worse than the leader (sign test p={p:.3f})")
            keep = math.ceil(entered / 2)
            if self.halving and len(self.alive) > keep:
                ranked = sorted(self.alive, key=lambda g: (-means[g], self.alive.index(g)))
                cutoff = means[ranked[keep - 1]]
                for gid in ranked[keep:]:
                    if means[gid] < cutoff - 1e-12:  # a tie with the last one kept is no evidence either
                        self._drop(gid, f"rung {rung}: outside the best {keep} (halving)")
        self.rung += 1

    def next_rung_cost(self, n_train: int) -> int:
        """Examples each candidate alive still needs for the next rung (its earlier prefix is paid)."""
        done = self.sizes[self.rung - 1] if self.rung else 0
        return (n_train if self.final else self.sizes[self.rung]) - done

    def trim(self, affordable: int) -> list[str]:
        """Keep the ``affordable`` (>= 1) best candidates alive by their last prefix mean (earlier ones
        first on a tie), dropping the rest: the budget left cannot pay for every one's next rung.
        Returns the dropped ids."""
        if affordable < 1 or len(self.alive) <= affordable:
            return []
        ranked = sorted(self.alive, key=lambda g: (-self.scored.get(g, 0.0), self.alive.index(g)))
        out = ranked[affordable:]
        for gid in out:
            self._drop(gid, f"rung {self.rung}: the budget left pays for the best {affordable} only")
        return out

    def _drop(self, gid: str, why: str) -> None:
        self.alive.remove(gid)
        self.dropped[gid] = why

    def to_json(self) -> dict:
        return {"order": list(self.order), "sizes": list(self.sizes), "alive": list(self.alive), "bar": self.bar,
                "alpha": self.alpha, "halving": self.halving, "tie_retry": self.tie_retry, "rung": self.rung,
                "dropped": dict(self.dropped),
                "scored": dict(self.scored)}

    @classmethod
    def from_json(cls, data: dict) -> "Race":
        return cls(**data)


def example_scores(batch, example_ids) -> list[float]:
    """Mean score per example of ``batch`` (several samples averaged), in ``example_ids`` order."""
    per: dict[str, list[float]] = {}
    for r in batch.records:
        per.setdefault(r.example_id, []).append(r.score)
    return [sum(per[i]) / len(per[i]) if per.get(i) else 0.0 for i in example_ids]


class Screen:
    """The race driver a strategy composes: at most one ``Race`` at a time, started with the strategy's
    racers and bar, trimmed to what the budget left can pay for, and finished with its counters
    (``raced``, ``promoted``, ``dropped``) updated. The strategy says only what a racer is, what the bar
    is, and what one racer's next rung costs."""

    def __init__(self, config: "RacingFields", budget, n_train: int):
        self.config, self.budget = config, budget
        self.halving, self.alpha = config.racing, config.racing_alpha
        self.minibatch = config.minibatch_size(n_train, task_call_budget(budget))  # 0: screening off
        self.race: Race | None = None
        self.entrants: dict = {}  # what the strategy races, by racer id (its own objects)
        self.bar_entry = None  # the strategy's object behind the race's bar id (None: none)
        self.counters = {"raced": 0, "promoted": 0, "dropped": 0}

    def minibatch_for(self, n: int) -> int:
        """The first-rung size of a race over a split of ``n`` examples (0: screening is off)."""
        return self.config.minibatch_size(n, task_call_budget(self.budget)) if self.minibatch else 0

    def start(self, order: list[str], minibatch: int, racers: list[str], bar: str | None, *,
              entrants: dict | None = None, bar_entry=None) -> Race:
        """A race of ``racers`` (ids) against ``bar`` (an id); ``entrants``/``bar_entry``: the strategy's
        objects behind them, kept until ``finish``."""
        self.race = Race(order, rung_sizes(minibatch, len(order), self.halving), racers, bar, alpha=self.alpha,
                         halving=self.halving, tie_retry=self.config.racing_ties == "retry")
        self.entrants, self.bar_entry = dict(entrants or {}), bar_entry
        self.counters["raced"] += len(racers)
        return self.race

    def trim(self, rung_cost: int) -> None:
        """Past the first rung, when the budget left cannot pay ``rung_cost`` for every racer's next rung,
        race on with the best it can pay for (the run would otherwise stop with the race unfinished)."""
        race, remaining = self.race, self.budget.remaining_task_calls()
        if race.rung == 0 or remaining is None:
            return
        race.trim(remaining // max(rung_cost, 1))

    def finish(self) -> Race:
        """The race just decided (``done``): count its promoted and dropped racers, and end it."""
        race, self.race, self.entrants, self.bar_entry = self.race, None, {}, None
        self.counters["promoted"] += len(race.alive)
        self.counters["dropped"] += len(race.dropped)
        return race

    def state(self) -> tuple[dict | None, dict]:
        return (self.race.to_json() if self.race else None), dict(self.counters)

    def restore(self, race: dict | None, counters: dict) -> None:
        self.race = Race.from_json(race) if race else None
        self.counters = dict(counters)
