"""The optimization run loop: drives a ``Strategy`` under a ``Budget`` and reports honestly.

Contract:
- Each step: ``ask`` -> evaluate every request (train/val only) -> ``tell`` -> step record ->
  ``on_step`` callback (progress, tracking, checkpoints).
- A step whose task-model cost would exceed the remaining call budget is not started.
- Re-evaluating a (genome, example) seen before in this run costs nothing: records are memoized per
  example (``evo.evaluation.memo``), so a minibatch followed by the full split pays for each example
  once, and a resumed run knows which (genome, example) pairs were already charged.
- Optimization calls are charged to the budget; the final choice among ``final_candidates`` on val
  and the final scoring are not (they are reported separately).
- After the loop, the seed genome and the best genome are scored on train, val and test. The test
  split is used only here, once, after optimization; no strategy ever receives a test example.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from evo.errors import RunFailure
from evo.budget import Budget
from evo.evaluation.evaluator import Evaluator
from evo.evaluation.memo import ExampleMemo
from evo.evaluation.perturb import perturb_examples
from evo.evaluation.records import EvalBatch
from evo.evaluation.repeats import repeat_stats
from evo.genome import PromptGenome
from evo.run.recommend import recommend
from evo.strategies.base import Strategy

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


FAIL_FAST_CALLS = 8  # task-model calls that must all fail before a run stops early (RunFailure)


class Phase(str):
    """What the run loop is doing, as passed to ``on_call`` after each evaluated example: the name
    (``"optimizing"`` or ``"final scoring"``, compared as a plain string) and ``total``, the number of
    evaluations the phase makes in all when it is known (the final scoring), else None."""

    total: int | None

    def __new__(cls, name: str, total: int | None = None):
        phase = super().__new__(cls, name)
        phase.total = total
        return phase


def _pandas():
    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas comes with mlflow
        raise ImportError("to_dataframe() needs pandas: .venv/bin/pip install pandas") from None
    return pandas


def improved_on(before: tuple, after: tuple, tol: float = 1e-12) -> bool:
    """Whether ``after`` (a strategy's ``progress()``) is better than ``before``: compared in order,
    the first element that differs by more than ``tol`` decides."""
    for b, a in zip(before, after):
        if a > b + tol:
            return True
        if a < b - tol:
            return False
    return False


@dataclass
class RunResult:
    """The one result of a run (fresh, resumed, or a comparison's baseline).

    ``before``/``after``: pass rate, mean score and n per split for the seed and the chosen genome;
    ``final_batches``: the same as ``EvalBatch``es (per-example test records live here); ``steps``: the
    step records; ``lineage``: the chosen genome's ancestry, root first; ``points``: every genome
    evaluated on train (quality, tokens, latency); ``strategy_report``: ``Strategy.report()``;
    ``evaluator``: where evaluation ran (``Evaluator.describe()``).
    """

    strategy: str
    seed_genome: PromptGenome
    best_genome: PromptGenome
    before: dict
    after: dict
    steps: list
    budget: dict
    stop_reason: str
    final_batches: dict = field(default_factory=dict)
    final_selection: list = field(default_factory=list)
    lineage: list = field(default_factory=list)
    points: list = field(default_factory=list)
    strategy_report: dict = field(default_factory=dict)
    evaluator: dict = field(default_factory=dict)
    final_candidates: list = field(default_factory=list)  # the genomes compared on val at the end
    distinct_candidates: int = 0  # genomes evaluated on at least one example during optimization
    recommendation: dict = field(default_factory=dict)  # evo.run.recommend.Recommendation.to_json()
    repeats: dict = field(default_factory=dict)  # final_samples > 1: {"before"|"after": repeat_stats of test}

    @property
    def recommended_genome(self) -> PromptGenome:
        """The genome to use: the winner when ``recommendation`` says it is significantly better than
        the seed on validation (``evo.run.recommend``), else the seed; ``best_genome`` is the winner."""
        if self.recommendation.get("use_winner", True):
            return self.best_genome
        return self.seed_genome

    @property
    def test_records(self) -> tuple:
        return self.final_batches["after"]["test"].records

    @property
    def calls(self) -> dict:
        """Task and optimizer calls, tokens and USD charged to the optimization budget."""
        usage = self.budget["usage"]
        return {"task": usage["task"]["calls"], "optimizer": usage["optimizer"]["calls"],
                "monitor": usage["monitor"]["calls"], "task_errors": usage["task"]["errors"],
                "optimizer_errors": usage["optimizer"]["errors"],
                "tokens": sum(u["input_tokens"] + u["output_tokens"] for u in usage.values()),
                "usd": sum(u["usd"] for u in usage.values())}

    @property
    def first_error(self) -> str | None:
        for batches in self.final_batches.values():
            for batch in batches.values():
                for r in batch.records:
                    if r.error:
                        return r.error
        return None

    @property
    def every_call_failed(self) -> bool:
        """No task-model call of the run succeeded: every optimization call (if any) and every final
        scoring call failed (e.g. an unreachable server)."""
        usage = self.budget["usage"]["task"]
        finals = [r for batches in self.final_batches.values() for b in batches.values() for r in b.records]
        return bool(finals) and all(r.error for r in finals) and usage["errors"] == usage["calls"]

    def to_dataframe(self):
        """One row per final-scoring record: ``prompt`` (``seed`` or ``winner``), split, example, task,
        score, passed, category, answer, expected, error (a ``pandas.DataFrame``)."""
        pd = _pandas()
        rows = [{"prompt": "seed" if label == "before" else "winner", "split": split, "example": r.example_id,
                 "task": r.task, "score": r.score, "passed": r.passed, "category": r.category, "answer": r.answer,
                 "expected": r.expected, "error": r.error, "sample": r.sample_index}
                for label, batches in self.final_batches.items() for split, batch in batches.items()
                for r in batch.records]
        return pd.DataFrame(rows)

    def to_json(self) -> dict:
        return {
            "strategy": self.strategy, "seed_genome": self.seed_genome.to_json(),
            "best_genome": self.best_genome.to_json(), "before": self.before, "after": self.after,
            "steps": self.steps, "budget": self.budget, "stop_reason": self.stop_reason,
            "final_selection": self.final_selection, "recommendation": self.recommendation,
            "lineage": self.lineage, "evaluator": self.evaluator,
            "test_records": [r.to_json() for r in self.test_records] if self.final_batches else [],
            **({"repeats": self.repeats} if self.repeats else {}),
        }


class OptimizationRun:
    def __init__(self, strategy: Strategy, evaluator: Evaluator, budget: Budget, seed_genome: PromptGenome, *,
                 on_step: Callable[[dict], None] | None = None, charged_keys: set | None = None,
                 steps: list | None = None, monitor_val: bool | None = None, history: dict | None = None,
                 on_call: Callable[[str], None] | None = None, final_samples: int = 1,
                 final_pool: str = "last"):
        self.final_samples = final_samples
        self.final_pool = final_pool
        self.strategy = strategy
        self.evaluator = evaluator
        self.budget = budget
        self.seed_genome = seed_genome
        self.on_step = on_step
        # called with the phase ("optimizing", "final scoring") after every evaluated example, from
        # the evaluator's threads: progress displays move during long steps too
        self.on_call = on_call
        self.phase = "optimizing"
        self.suite = evaluator.suite
        self.memo = ExampleMemo()
        self._split_ids = {s: [e.id for e in self.suite.split(s)] for s in SPLITS}
        self.genomes: dict[str, PromptGenome] = {seed_genome.id: seed_genome}
        # genome id -> first train evaluation's {quality, tokens, latency_ms}: kept across a resume
        # (``history()``/``history=``) so curves, Pareto points and lineage survive the memo's loss
        self.points: dict[str, dict] = {}
        for gid, point in ((history or {}).get("points") or {}).items():
            self.points[gid] = dict(point)
        for data in ((history or {}).get("genomes") or {}).values():
            genome = PromptGenome.from_json(data)
            self.genomes.setdefault(genome.id, genome)
        # per-example charges (genome id, split, samples, perturbed, example id); a checkpoint written
        # before per-example memoization holds whole-split keys: they stand for every example of it
        self.charged_keys: set = set()
        for k in charged_keys or ():
            k = tuple(k)
            self.charged_keys.update([k] if len(k) == 5 else (k + (i,) for i in self._split_ids.get(k[1], ())))
        self.steps: list = list(steps or [])
        # None: as the budget says (``BudgetConfig.monitor_val``; auto: off under a small call cap)
        self.monitor_val = budget.config.monitors_val(len(self._split_ids["val"])) if monitor_val is None else monitor_val
        self.monitor_calls = 0
        # task-model calls that failed, optimization and final scoring alike (kept across a resume)
        self.failed_calls = int((history or {}).get("failed_calls") or 0)

    def _ids(self, split: str, examples) -> list[str]:
        ids = self._split_ids[split]
        if examples is None:
            return list(ids)
        known = set(ids)
        unknown = [i for i in examples if i not in known]
        if unknown:
            raise ValueError(f"examples {unknown[:3]} are not in the {split} split")
        return list(dict.fromkeys(examples))

    def evaluate(self, genome: PromptGenome, split: str, samples: int = 1, charge: bool = True,
                 perturbed: bool = False, examples=None) -> EvalBatch:
        """``genome`` on ``split`` (or the ``examples`` of it), from the per-example memo where known;
        only the examples not known yet are evaluated, and (``charge``) only the examples never paid
        for in this run are charged."""
        key = (genome.id, split, samples, perturbed)
        ids = self._ids(split, examples)
        missing = self.memo.missing(key, ids)
        wall_s = 0.0
        if missing:
            fresh = self.evaluator.evaluate(genome, self._examples(split, perturbed, missing), samples=samples,
                                            on_result=self._on_result())
            self._remember(key, genome, missing, fresh)
            wall_s = fresh.wall_s
        batch = self.memo.batch(key, ids, wall_s)
        if charge:
            self._charge(key, ids, batch)
        self._note_point(key, genome, ids, batch)
        return batch

    def _charge(self, key: tuple, ids: list[str], batch: EvalBatch) -> None:
        """Charge the budget for the examples of ``batch`` not paid for before (per example)."""
        new = [i for i in ids if key + (i,) not in self.charged_keys]
        if not new:
            return
        samples = key[2]
        if len(new) == len(ids):
            charged = batch
        else:
            fresh = set(new)
            charged = EvalBatch(batch.genome_id, tuple(r for n, i in enumerate(ids) if i in fresh
                                                       for r in batch.records[n * samples:(n + 1) * samples]))
        self.charged_keys.update(key + (i,) for i in new)
        self.budget.charge_batch(charged)

    def _uncharged(self, key: tuple, ids: list[str]) -> int:
        return sum(1 for i in ids if key + (i,) not in self.charged_keys)

    def _examples(self, split: str, perturbed: bool, ids: list[str] | None = None) -> list:
        examples = self.suite.split(split)
        if ids is not None:
            by_id = {e.id: e for e in examples}
            examples = [by_id[i] for i in ids]
        return perturb_examples(examples) if perturbed else examples

    def _on_result(self):
        return (lambda _rec: self.on_call(self.phase)) if self.on_call else None

    def _remember(self, key: tuple, genome: PromptGenome, ids: list[str], batch: EvalBatch) -> None:
        self.failed_calls += batch.n_errors  # counted where calls are made: a reused batch is no new call
        self.memo.store(key, ids, batch)
        self.genomes.setdefault(genome.id, genome)

    def _note_point(self, key: tuple, genome: PromptGenome, ids: list[str], batch: EvalBatch) -> None:
        genome_id, split, _, perturbed = key
        if split == "train" and not perturbed and batch.n and genome_id not in self.points \
                and len(ids) == len(self._split_ids["train"]):
            self.points[genome_id] = {"quality": batch.mean_score,
                                      "tokens": (batch.input_tokens + batch.output_tokens) / batch.n,
                                      "latency_ms": batch.latency_mean_s * 1000}

    def evaluate_step(self, requests) -> list[tuple]:
        """(request, batch) for every request of a step. The examples not memoized go to the evaluator
        together (``evaluate_many``), so a whole generation or every candidate of an iteration is
        scheduled at once across threads or the cluster; results keep the requests' order."""
        fresh: dict[tuple, list[str]] = {}
        genomes: dict[str, PromptGenome] = {}
        for r in requests:
            key = (r.genome.id, r.split, r.samples, r.perturbed)
            wanted = fresh.setdefault(key, [])
            for i in self.memo.missing(key, self._ids(r.split, r.examples)):
                if i not in wanted:
                    wanted.append(i)
            genomes[r.genome.id] = r.genome
        fresh = {k: ids for k, ids in fresh.items() if ids}
        if len(fresh) > 1 and hasattr(self.evaluator, "evaluate_many"):
            jobs = [(genomes[k[0]], self._examples(k[1], k[3], ids), k[2]) for k, ids in fresh.items()]
            batches = self.evaluator.evaluate_many(jobs, on_result=self._on_result())
            for (key, ids), batch in zip(fresh.items(), batches):
                self._remember(key, genomes[key[0]], ids, batch)
        return [(r, self.evaluate(r.genome, r.split, r.samples, perturbed=r.perturbed, examples=r.examples))
                for r in requests]

    def distinct_candidates(self) -> int:
        """Genomes evaluated on at least one example during optimization (seed included)."""
        return len(self.memo.genomes())

    def train_score(self, genome: PromptGenome) -> float | None:
        """Mean train score of ``genome`` if it was evaluated on train in this run (resumes included)."""
        point = self.points.get(genome.id)
        return point["quality"] if point else None

    def history(self) -> dict:
        """What the loop knows of earlier evaluations, for the checkpoint (JSON)."""
        return {"points": self.points, "genomes": {gid: g.to_json() for gid, g in self.genomes.items()},
                "failed_calls": self.failed_calls}

    def val_score(self, genome: PromptGenome) -> float | None:
        """Mean val score of ``genome`` for monitoring (MLflow curves): reuses a val evaluation the strategy
        asked for, else evaluates it here, never shown to the strategy and charged to the budget's
        ``monitor`` role (skipped, None, when the budget cannot pay for it). Only done when the best
        genome changes (memoized per genome). With monitoring off, only a val evaluation already paid
        for is reported (None otherwise)."""
        key, ids = (genome.id, "val", 1, False), self._split_ids["val"]
        unpaid = [i for i in ids if key + (i,) not in self.charged_keys]
        if unpaid and not self.monitor_val:
            return None
        if unpaid:  # not paid for yet (by the strategy or earlier monitoring)
            if not self.budget.affords(monitor_calls=len(unpaid)):
                return None
            self.monitor_calls += len(unpaid)
            self.budget.charge_batch(self.evaluate(genome, "val", charge=False, examples=unpaid), role="monitor")
            self.charged_keys.update(key + (i,) for i in unpaid)  # a later request by the strategy costs nothing more
        return self.evaluate(genome, "val", charge=False).mean_score

    def evaluated_points(self) -> list[dict]:
        """Every genome evaluated on train: quality, tokens and latency per example (for Pareto plots)."""
        return [{"id": gid, **point} for gid, point in self.points.items()]

    def lineage(self, genome: PromptGenome) -> list[dict]:
        """The ancestry of ``genome`` (first parent at each step), root first; each node carries the
        full genome so settings changes are visible, and ``parents`` names a crossover's second parent."""
        chain, seen, current = [], set(), genome
        while current is not None and current.id not in seen:
            seen.add(current.id)
            chain.append({"id": current.id, "operator": current.operator, "instruction": current.instruction,
                          "parents": list(current.parents), "quality": self.train_score(current),
                          "genome": current.to_json()})
            current = self.genomes.get(current.parents[0]) if current.parents else None
        return chain[::-1]

    def _step_cost(self, requests) -> int:
        """Task calls the step will be charged: every (genome, example) not paid for before, once."""
        unpaid: set = set()
        for r in requests:
            key = (r.genome.id, r.split, r.samples, r.perturbed)
            unpaid.update((key, i) for i in self._ids(r.split, r.examples) if key + (i,) not in self.charged_keys)
        return sum(key[2] for key, _ in unpaid)

    def _fail_fast(self, results) -> None:
        """``RunFailure`` when every task-model call of the run so far failed (an unreachable server, a broken
        model file) and there were at least ``FAIL_FAST_CALLS`` of them, or they were the whole first step
        (the seed's baseline): stop before any optimizer call is spent on them."""
        task = self.budget.usage["task"]
        if not task.calls or task.errors < task.calls or (task.calls < FAIL_FAST_CALLS and self.steps):
            return
        first = next((r.error for _, batch in results for r in batch.records if r.error), None)
        raise RunFailure(f"the first {task.calls} task-model calls all failed; first error: {first}")

    def run(self) -> RunResult:
        stop_reason = None
        while stop_reason is None:
            stop_reason = self.budget.exhausted() or self._strategy_stop()
            if stop_reason:
                break
            before = self.budget.snapshot()
            task_calls_before = self.budget.usage["task"].calls
            # the finalists as a run whose cap is a halving this step will pass would end with (it stops
            # before the step it cannot pay for)
            finalists_before = ([g.id for g in self.strategy.final_candidates()]
                                if any(mark >= task_calls_before for mark in self.halvings()) else None)
            prev_progress = self.strategy.progress()
            requests = self.strategy.ask()
            if not requests and self.strategy.finished:  # it stopped while asking (e.g. nothing affordable)
                stop_reason = self.strategy.stop_reason
                break
            remaining = self.budget.remaining_task_calls()
            cost = self._step_cost(requests)
            if remaining is not None and cost > remaining:
                stop_reason = f"next step needs {cost} task calls, {remaining} left in the budget"
                break
            results = self.evaluate_step(requests)
            self._fail_fast(results)
            self.strategy.tell(results)
            improved = improved_on(prev_progress, self.strategy.progress())
            self.budget.end_step(improved, self.budget.snapshot() != before)
            calls = self.budget.total_calls
            cache_hits = sum(u.cached_calls for u in self.budget.usage.values())
            record = {
                "step": len(self.steps), "strategy": self.strategy.name,
                "best_id": self.strategy.best().id, "improved": improved, "evaluations": len(requests),
                "task_calls": self.budget.usage["task"].calls,
                "optimizer_calls": self.budget.usage["optimizer"].calls,
                "monitor_calls": self.budget.usage["monitor"].calls,
                "task_errors": self.budget.usage["task"].errors,
                "optimizer_errors": self.budget.usage["optimizer"].errors,
                "tokens": sum(u.tokens for u in self.budget.usage.values()),
                "usd": sum(u.usd for u in self.budget.usage.values()),
                "cache_hits": cache_hits, "cache_hit_rate": cache_hits / calls if calls else 0.0,
                "wall_s": self.budget.wall_s, "best_train_score": self.train_score(self.strategy.best()),
                "best_val_score": self.val_score(self.strategy.best()),
                # what only this strategy's own logic means (its selection score included)
                "detail": {"selection_score": self.strategy.selection_score(), **self.strategy.step_record()},
            }
            if self._crossed_halving(task_calls_before, record["task_calls"]):
                record["finalists"] = finalists_before
            self.steps.append(record)
            if self.on_step:
                self.on_step(record)
        log.info("stopping: %s", stop_reason)
        return self.finish(stop_reason)

    def _strategy_stop(self) -> str | None:
        """The strategy's stop reason, unless budget is left and the strategy extends its search."""
        reason = self.strategy.stop_reason
        remaining = self.budget.remaining_task_calls()
        if reason and remaining and self.strategy.extend():
            log.info("%s stopped (%s) with %d calls left: extended", self.strategy.name, reason, remaining)
            return None
        return reason

    def halvings(self) -> list[int]:
        """The task-call counts at which ``final_pool: halvings`` records the strategy's finalists: the
        cap's half, quarter, ... while at least one evaluation of the whole training split fits (none
        without a task-call cap, or with ``final_pool: last``)."""
        cap = self.budget.config.task_call_cap
        if self.final_pool != "halvings" or not cap:
            return []
        out, mark = [], cap // 2
        while mark >= max(1, len(self._split_ids["train"])):
            out.append(mark)
            mark //= 2
        return out

    def _crossed_halving(self, calls_before: int, calls_after: int) -> bool:
        """Whether a step from ``calls_before`` to ``calls_after`` task calls is the first one a run
        capped at a halving could not pay for."""
        return any(calls_before <= mark < calls_after for mark in self.halvings())

    def final_pool_genomes(self) -> list[PromptGenome]:
        """The genomes compared on val at the end: the strategy's final candidates, then (``final_pool:
        halvings``) the finalists it had before the step that took the run past each halving of its cap,
        newest first, each genome once. A run whose budget is doubled takes the same steps first (same seed) and so
        compares the smaller run's finalists too: its choice's val score is at least that run's."""
        pool = list(self.strategy.final_candidates())
        seen = {g.id for g in pool}
        for record in reversed(self.steps):
            for gid in record.get("finalists") or ():
                if gid not in seen and gid in self.genomes:
                    seen.add(gid)
                    pool.append(self.genomes[gid])
        return pool

    def choose_final(self, candidates: list[PromptGenome]) -> tuple[PromptGenome, list]:
        """The strategy's final candidates compared on val; the best mean score wins. These calls are
        reported in ``final_selection``, not charged to the optimization budget (like the final
        scoring of seed and best, they are the same for every strategy)."""
        if len(candidates) == 1:
            return candidates[0], []
        scored = [(self.evaluate(g, "val", charge=False), g) for g in candidates]
        best = max(scored, key=lambda bg: bg[0].mean_score)[1]  # max keeps the first of equals
        return best, [{"id": g.id, "val_score": b.mean_score} for b, g in scored]

    def _unscored(self, genome: PromptGenome, splits) -> int:
        return sum(len(self.memo.missing((genome.id, s, 1, False), self._ids(s, None))) for s in splits)

    def finish(self, stop_reason: str) -> RunResult:
        candidates = self.final_pool_genomes()
        choosing = sum(self._unscored(c, ["val"]) for c in candidates) if len(candidates) > 1 else 0
        after_choice = [s for s in SPLITS if s != "val" or len(candidates) == 1]
        seed_part = self._unscored(self.seed_genome, SPLITS)
        # the phase's size: at most this until the final choice is made, then exactly
        self.phase = Phase("final scoring", choosing + seed_part + max(self._unscored(c, after_choice)
                                                                       for c in candidates))
        best, selection = self.choose_final(candidates)
        best_part = 0 if best.id == self.seed_genome.id else self._unscored(best, after_choice)
        k = self.final_samples
        sampled = [] if k == 1 else [self.seed_genome] + ([best] if best.id != self.seed_genome.id else [])
        repeat_part = sum(k * len(self.memo.missing((g.id, "test", k, False), self._ids("test", None))) for g in sampled)
        self.phase = Phase("final scoring", choosing + self._unscored(self.seed_genome, SPLITS) + best_part + repeat_part)
        finals = {}
        for label, genome in (("before", self.seed_genome), ("after", best)):
            finals[label] = {s: self.evaluate(genome, s, charge=False) for s in SPLITS}
        repeats = {} if k == 1 else {label: repeat_stats(self.evaluate(genome, "test", samples=k, charge=False))
                                     for label, genome in (("before", self.seed_genome), ("after", best))}
        summary = {label: {s: {"pass_rate": b.pass_rate, "mean_score": b.mean_score, "n": b.n}
                           for s, b in batches.items()} for label, batches in finals.items()}
        recommendation = recommend(self.seed_genome, best, finals["before"]["val"], finals["after"]["val"], self.suite)
        budget = {**self.budget.state_dict(), "monitor_val_calls": self.budget.usage["monitor"].calls,
                  "failed_task_calls": self.failed_calls,
                  "calls_left": self.budget.remaining_task_calls()}
        return RunResult(self.strategy.name, self.seed_genome, best, summary["before"], summary["after"],
                         self.steps, budget, stop_reason, finals, selection, lineage=self.lineage(best),
                         points=self.evaluated_points(), strategy_report=self.strategy.report(),
                         evaluator=self.evaluator.describe(), final_candidates=candidates,
                         distinct_candidates=self.distinct_candidates(), recommendation=recommendation.to_json(),
                         repeats=repeats)
