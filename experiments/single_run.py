"""Execute one optimization run into a run directory, fresh or resumed from its last checkpoint.

Shared by ``evo optimize``, ``evo compare`` (each strategy x seed) and ``evo resume``. Per step, in
this order: append to ``steps.jsonl``, write ``checkpoint.json`` atomically, log the step's metrics to
the tracker. On resume, ``steps.jsonl`` is cut back to the checkpoint, the strategy, budget and
charged-evaluation keys are restored, and steps the tracker is missing are logged once: a run killed
at any point ends, with responses from the cache, exactly as an uninterrupted one, without duplicated
tracker steps.
"""
from __future__ import annotations

import json
from typing import Callable

from evo.run_dir import RunDir
from evo.run_loop import OptimizationRun, RunResult
from experiments.tracking import numeric_metrics


def step_metrics(record: dict, budget) -> dict:
    metrics = numeric_metrics(record)
    metrics.pop("step", None)
    total = sum(u.calls for u in budget.usage.values())
    cached_calls = sum(u.cached_calls for u in budget.usage.values())
    metrics["cache_hit_rate"] = cached_calls / total if total else 0.0
    return metrics


def read_steps(run_dir: RunDir) -> list[dict]:
    path = run_dir.path / "steps.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def restore(parts, run_dir: RunDir) -> tuple[set, list]:
    """Load the checkpoint into ``parts``; return (charged keys, steps done). Cuts ``steps.jsonl``."""
    checkpoint = json.loads((run_dir.path / "checkpoint.json").read_text(encoding="utf-8"))
    parts.strategy.load_state_dict(checkpoint["strategy"])
    parts.budget.load_state(checkpoint["budget"])
    steps = read_steps(run_dir)[: checkpoint["steps_done"]]
    (run_dir.path / "steps.jsonl").write_text("".join(json.dumps(s, default=str) + "\n" for s in steps), encoding="utf-8")
    return {tuple(k) for k in checkpoint["charged_keys"]}, steps


def execute(parts, run_dir: RunDir, *, tracker=None, tracker_run_id: str | None = None, resume: bool = False,
            on_record: Callable[[dict], None] | None = None) -> tuple[RunResult, OptimizationRun]:
    charged, steps = set(), []
    if resume and (run_dir.path / "checkpoint.json").exists():
        charged, steps = restore(parts, run_dir)
        if tracker is not None and tracker_run_id:
            last = tracker.last_step(tracker_run_id, "task_calls")
            for rec in steps:
                if rec["step"] > last:
                    tracker.log_metrics(tracker_run_id, numeric_metrics({k: v for k, v in rec.items() if k != "step"}),
                                        rec["step"])

    def on_step(record: dict) -> None:
        run_dir.append_step(record)
        run_dir.write_checkpoint(parts.strategy, parts.budget, loop.charged_keys, record["step"] + 1)
        if tracker is not None and tracker_run_id:
            tracker.log_metrics(tracker_run_id, step_metrics(record, parts.budget), record["step"])
        if on_record:
            on_record(record)

    loop = OptimizationRun(parts.strategy, parts.evaluator, parts.budget, parts.seed_genome, on_step=on_step,
                           charged_keys=charged, steps=steps)
    result = loop.run()
    run_dir.write_result(result, parts.strategy)
    return result, loop
