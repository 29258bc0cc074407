"""Hybrid: an evolutionary phase, then iterative refinement of the best genome.

The evolutionary phase ends when its own stop rules fire or when it has used ``evolution_share`` of
the run's task-call budget. The iterative phase starts from the evolutionary winner and inherits what
evolution learned: lessons naming the operators that improved the best genome (e.g.
``+ crossover(llm:crossover) -> improved 0.40 -> 0.55``). Both phases share the budget and one run
record (``report()`` holds the evolution report, then the refinement iterations).

``selection_score`` is the current phase's own score; ``progress()`` is ``(phase index, that score)``,
so the run loop sees the hand-over as progress whatever the two phases' scores are.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from evo.config_base import StrictConfig

from evo.budget import Budget
from evo.genome import PromptGenome
from evo.optimizer.llm import OptimizerLLM
from evo.strategies.base import EvalRequest, Results, Strategy, check_state
from evo.strategies.evolutionary import EvolutionaryConfig, EvolutionaryStrategy
from evo.strategies.iterative import IterativeConfig, IterativeStrategy
from evo.tasks.suite import TaskSuite

STATE_VERSION = 1


class HybridConfig(StrictConfig):
    kind: Literal["hybrid"] = "hybrid"
    evolution_share: float = Field(0.5, gt=0, lt=1, description="share of the task-call budget for evolution")
    evolutionary: EvolutionaryConfig = Field(default_factory=lambda: EvolutionaryConfig(generations=4))
    iterative: IterativeConfig = Field(default_factory=IterativeConfig)

    def for_optimizer(self, optimizer) -> "HybridConfig":
        return self.model_copy(update={"evolutionary": self.evolutionary.for_optimizer(optimizer),
                                       "iterative": self.iterative.for_optimizer(optimizer)})


class HybridStrategy(Strategy):
    name = "hybrid"

    def __init__(self, config: HybridConfig, suite: TaskSuite, seed_genome: PromptGenome, optimizer: OptimizerLLM,
                 budget: Budget, seed: int = 0):
        self.config = config
        self.suite = suite
        self.optimizer = optimizer
        self.budget = budget
        self.seed = seed
        self.evolution = EvolutionaryStrategy(config.evolutionary, suite, seed_genome, optimizer, seed)
        self.refinement: IterativeStrategy | None = None
        self.handover_reason = ""

    @property
    def phase(self) -> str:
        return "evolution" if self.refinement is None else "refinement"

    def report(self) -> dict:
        return {"phase": self.phase, "handover_reason": self.handover_reason, "evolution": self.evolution.report(),
                "refinement": self.refinement.report() if self.refinement is not None else None}

    def _evolution_budget_used(self) -> bool:
        cap = self.budget.config.task_call_cap
        if not cap:
            return False
        return self.budget.usage["task"].calls >= self.config.evolution_share * cap

    def _hand_over(self, reason: str) -> None:
        self.handover_reason = reason
        best = self.evolution.best()
        self.refinement = IterativeStrategy(self.config.iterative, self.suite, best, self.optimizer, self.seed)
        self.refinement.history.memory.lessons.extend(self._lessons())

    def _lessons(self) -> list[str]:
        lessons, prev = [], None
        for rec in self.evolution.logbook:
            if prev is not None and rec["quality_best"] > prev + 1e-12:
                ops = ", ".join(sorted(set(rec.get("operators") or []))[:3]) or "variation"
                lessons.append(f"+ evolution gen {rec['gen']} ({ops}) -> improved {prev:.2f} -> {rec['quality_best']:.2f}")
            prev = rec["quality_best"] if prev is None else max(prev, rec["quality_best"])
        best = self.evolution.best()
        lessons.append(f"+ evolution's best settings: placement={best.placement}, few_shot_k={best.few_shot_k}, "
                       f"chain_of_thought={best.chain_of_thought}, max_tokens={best.max_tokens}")
        return lessons[-6:]

    def ask(self) -> list[EvalRequest]:
        if self.refinement is None:
            if self.evolution.finished or (self.evolution.generation > 0 and not self.evolution.racing_now
                                           and self._evolution_budget_used()):
                self._hand_over(self.evolution.stop_reason or "evolution budget share used")
            else:
                return self.evolution.ask()
        reqs = self.refinement.ask()
        if self.refinement.finished:
            self.stop_reason = f"refinement: {self.refinement.stop_reason}"
        return reqs

    def tell(self, results: Results) -> None:
        if self.refinement is None:
            self.evolution.tell(results)
        else:
            self.refinement.tell(results)
            if self.refinement.finished:
                self.stop_reason = f"refinement: {self.refinement.stop_reason}"

    def best(self) -> PromptGenome:
        return self.evolution.best() if self.refinement is None else self.refinement.best()

    def extend(self) -> bool:
        """Budget left after refinement ended on its caps: another refinement round."""
        if self.refinement is not None and self.refinement.extend():
            self.stop_reason = None
            return True
        return False

    def selection_score(self) -> float:
        """The current phase's own score (refinement's starting genome: evolution's score until scored)."""
        inner = self.refinement.selection_score() if self.refinement is not None else float("-inf")
        return inner if inner != float("-inf") else self.evolution.selection_score()

    def progress(self) -> tuple:
        """(phase index, the phase's score): the hand-over to refinement is progress, whatever the scores."""
        if self.refinement is None:
            return (0, self.evolution.selection_score())
        inner = self.refinement.selection_score()
        return (1, inner if inner != float("-inf") else -1.0)

    def final_candidates(self) -> list[PromptGenome]:
        """Refinement's finalists (its current genome and its last accepted ones), then evolution's; as
        many as evolution's ``final_candidates`` plus one."""
        pool = (self.refinement.final_candidates() if self.refinement else []) + self.evolution.final_candidates()
        return list({g.id: g for g in pool}.values())[: self.evolution.config.final_candidates + 1]

    def step_record(self) -> dict:
        inner = self.evolution if self.refinement is None else self.refinement
        rec = inner.step_record()
        rec["hybrid_phase"] = self.phase
        return rec

    def state_dict(self) -> dict:
        return {"schema_version": STATE_VERSION, "strategy": self.name, "evolution": self.evolution.state_dict(),
                "refinement": self.refinement.state_dict() if self.refinement else None,
                "handover_reason": self.handover_reason, "stop_reason": self.stop_reason}

    def load_state_dict(self, state: dict) -> None:
        check_state(state, self.name, STATE_VERSION)
        self.evolution.load_state_dict(state["evolution"])
        self.handover_reason = state["handover_reason"]
        if state["refinement"] is not None:
            self.refinement = IterativeStrategy(self.config.iterative, self.suite, self.evolution.best(), self.optimizer,
                                                self.seed)
            self.refinement.load_state_dict(state["refinement"])
        self.stop_reason = state["stop_reason"]
