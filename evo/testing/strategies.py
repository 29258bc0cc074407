"""``StrategyConformance``: the contract every strategy keeps, as a test class to subclass (pytest).

Each test builds the strategy from ``strategy_config`` on the toy addition task
(``evo.testing.toys``) with a scripted task model whose answers depend on the instruction and a pure
scripted optimizer, then runs it through the real run loop. Override ``build`` to construct a
strategy that is not in the registry.
"""
from __future__ import annotations

import json

from evo.errors import BackendError
from evo.genome import PromptGenome, stable_hash
from evo.llm.scripted import ScriptedBackend
from evo.run.loop import OptimizationRun, RunResult
from evo.testing.toys import arithmetic_suite, build_parts, keyword_task_model, pure_optimizer


class StrategyConformance:
    strategy_config: dict = {}
    budget: dict = {"max_calls": 400}

    # ---- hooks --------------------------------------------------------------------------------
    def build(self, budget: dict | None = None, task_backend=None, seed: int = 0):
        """The ``RunParts`` of one run of the strategy (override for an unregistered strategy)."""
        suite = arithmetic_suite()
        return build_parts({"strategy": self.strategy_config, "budget": budget or self.budget, "seed": seed},
                           suite, seed_genome=PromptGenome(instruction="Solve.", max_tokens=8),
                           task=task_backend or keyword_task_model(), optimizer=pure_optimizer()), suite

    @staticmethod
    def run(parts, **loop_kw) -> RunResult:
        return OptimizationRun(parts.strategy, parts.evaluator, parts.budget, parts.seed_genome, **loop_kw).run()

    @staticmethod
    def trajectory(result: RunResult) -> list:
        return [(s["best_id"], round(s["detail"]["selection_score"], 9), s["task_calls"]) for s in result.steps]

    # ---- the contract ---------------------------------------------------------------------------
    def test_respects_the_budget(self):
        for limits in ({"max_task_calls": 120}, {"max_calls": 90}, {"max_optimizer_calls": 3, "max_calls": 400}):
            parts, _ = self.build(limits)
            result = self.run(parts)
            usage = result.budget["usage"]
            task_model = usage["task"]["calls"] + usage["monitor"]["calls"]
            assert task_model <= limits.get("max_task_calls", 10**9), (limits, usage)
            assert sum(u["calls"] for u in usage.values()) <= limits.get("max_calls", 10**9), (limits, usage)
            assert usage["optimizer"]["calls"] <= limits.get("max_optimizer_calls", 10**9), (limits, usage)

    def test_never_mutates_inputs(self):
        parts, suite = self.build()
        snapshot = json.dumps([(e.id, dict(e.inputs), e.expected, e.split) for e in suite.examples])
        seed = parts.seed_genome.model_dump()
        result = self.run(parts)
        assert json.dumps([(e.id, dict(e.inputs), e.expected, e.split) for e in suite.examples]) == snapshot
        assert parts.seed_genome.model_dump() == seed
        assert result.best_genome.parents or result.best_genome.id == parts.seed_genome.id

    def test_same_seed_same_trajectory(self):
        a = self.run(self.build(seed=5)[0])
        b = self.run(self.build(seed=5)[0])
        assert self.trajectory(a) == self.trajectory(b)
        assert a.best_genome == b.best_genome  # lineage (parents, operator) included
        assert a.after == b.after

    def test_state_round_trips_mid_run(self):
        full = self.run(self.build()[0])
        first, _ = self.build({**self.budget, "max_steps": 2})
        loop = OptimizationRun(first.strategy, first.evaluator, first.budget, first.seed_genome)
        loop.run()
        saved = json.loads(json.dumps({"strategy": first.strategy.state_dict(), "budget": first.budget.state_dict(),
                                       "charged": sorted(list(k) for k in loop.charged_keys), "steps": loop.steps,
                                       "history": loop.history()}))
        saved["budget"]["config"]["max_steps"] = None
        second, _ = self.build()
        second.strategy.load_state_dict(saved["strategy"])
        second.budget.load_state_dict(saved["budget"])
        resumed = self.run(second, charged_keys={tuple(k) for k in saved["charged"]}, steps=saved["steps"],
                           history=saved["history"])
        assert self.trajectory(resumed) == self.trajectory(full)
        assert resumed.best_genome.id == full.best_genome.id

    def test_tolerates_failed_evaluations(self):
        base = keyword_task_model()

        def flaky(request):
            if int(stable_hash(request.canonical(), size=2), 16) % 10 < 3:
                raise BackendError("HTTP 500: scripted outage", retryable=True)
            return base._responder(request)
        parts, _ = self.build(task_backend=ScriptedBackend(flaky))
        result = self.run(parts)
        errors = sum(b.n_errors for b in result.final_batches["after"].values())
        assert errors > 0 and result.best_genome is not None
        assert result.budget["failed_task_calls"] > 0
