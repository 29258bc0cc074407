"""Execute one optimization run into a run directory, fresh or resumed, and track it.

``execute(parts, run_dir, ...)``: per step, in this order: append to ``steps.jsonl``, write
``checkpoint.json`` atomically, log the step's metrics to the tracker. On resume, ``steps.jsonl`` is cut
back to the checkpoint, the strategy, budget and charged-evaluation keys are restored, and steps the
tracker is missing are logged once: a run killed at any point ends, with responses from the cache,
exactly as an uninterrupted one, without duplicated tracker steps.

``run_resolved(resolved, suite, session, run_dir, ...)``: the one path by which ``evo optimize``,
``evo compare`` (every strategy x seed cell and the baseline), ``evo resume``, ``evo improve`` and the
Python API run: it writes ``config.json`` (the resolved config exactly as run), opens the tracker run
with the resolved config as flat params and its sha256 as a tag, executes, logs final metrics and
artifacts, and ends the tracker run FINISHED, or KILLED/FAILED when interrupted.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from evo.run.session import RunParts, Session
from pydantic import ValidationError

from evo.errors import ConfigError, StateError, pydantic_error_to_config_error
from evo.genome import PromptGenome, stable_hash
from evo.run.run_dir import RUN_SCHEMA_VERSION, RunDir, read_steps_file
from evo.run.loop import OptimizationRun, RunResult
from evo.tracking import flat_params, numeric_metrics, run_outcome, run_params

SHARED_FINAL_METRICS = ("train", "val", "test")


def step_metrics(record: dict) -> dict:
    """The tracker metrics of a step record: the comparable fields under their own names, the
    strategy's own fields under ``<strategy>/``."""
    metrics = numeric_metrics({k: v for k, v in record.items() if k not in ("step", "detail")})
    metrics.update(numeric_metrics(record.get("detail") or {}, prefix=f"{record['strategy']}/"))
    return metrics


def final_metrics(result: RunResult) -> dict:
    """Summary metrics shared by every strategy (and the baseline): scores of the chosen genome and of
    the seed on each split, calls, tokens, USD, wall time."""
    out = {f"{split}_score": result.after[split]["mean_score"] for split in SHARED_FINAL_METRICS}
    out.update({f"{split}_pass_rate": result.after[split]["pass_rate"] for split in SHARED_FINAL_METRICS})
    out.update({f"seed_{split}_score": result.before[split]["mean_score"] for split in SHARED_FINAL_METRICS})
    calls = result.calls
    out.update(total_task_calls=calls["task"], total_optimizer_calls=calls["optimizer"], total_tokens=calls["tokens"],
               total_usd=calls["usd"], total_wall_s=result.budget["wall_s"], total_monitor_calls=calls["monitor"],
               failed_task_calls=result.budget["failed_task_calls"], failed_optimizer_calls=calls["optimizer_errors"])
    rec = result.recommendation
    if rec:
        out["winner_recommended"] = float(rec["use_winner"])
        if rec.get("p_value") is not None:
            out["recommendation_p_value"] = rec["p_value"]
    return out


def read_steps(run_dir: RunDir) -> list[dict]:
    return read_steps_file(run_dir.path / "steps.jsonl")


def restore(parts: RunParts, run_dir: RunDir) -> tuple[set, list, dict]:
    """Load the checkpoint into ``parts``; return (charged keys, steps done, the loop's history). Cuts
    ``steps.jsonl``."""
    checkpoint = run_dir.read_json("checkpoint.json")
    if checkpoint.get("schema_version") != RUN_SCHEMA_VERSION:
        raise ConfigError(run_dir.path / "checkpoint.json", f"checkpoint of schema version "
                          f"{checkpoint.get('schema_version')!r}; this version resumes {RUN_SCHEMA_VERSION}")
    try:
        parts.strategy.load_state_dict(checkpoint["strategy"])
    except (StateError, ValueError, KeyError) as exc:
        raise ConfigError(run_dir.path / "checkpoint.json", f"strategy state cannot be restored: {exc}") from None
    try:
        parts.budget.load_state_dict(checkpoint["budget"])
        steps_done, charged = checkpoint["steps_done"], checkpoint["charged_keys"]
        if not isinstance(steps_done, int) or isinstance(steps_done, bool) or steps_done < 0:
            raise ValueError(f"steps_done {steps_done!r} is not a non-negative integer")
    except ValidationError as exc:
        raise pydantic_error_to_config_error(run_dir.path / "checkpoint.json", exc) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(run_dir.path / "checkpoint.json", f"incomplete checkpoint: {type(exc).__name__}: {exc}") from None
    steps = read_steps(run_dir)[:steps_done]
    (run_dir.path / "steps.jsonl").write_text("".join(json.dumps(s, default=str) + "\n" for s in steps), encoding="utf-8")
    return {tuple(k) for k in charged}, steps, checkpoint.get("history") or {}


def execute(parts: RunParts, run_dir: RunDir, *, tracker=None, tracker_run_id: str | None = None,
            resume: bool = False, on_record: Callable[[dict], None] | None = None,
            on_call: Callable[[str], None] | None = None) -> RunResult:
    charged, steps, history = set(), [], {}
    if resume and (run_dir.path / "checkpoint.json").exists():
        charged, steps, history = restore(parts, run_dir)
        if tracker is not None and tracker_run_id:
            last = tracker.last_step(tracker_run_id, "task_calls")
            for rec in steps:
                if rec["step"] > last:
                    tracker.log_metrics(tracker_run_id, step_metrics(rec), rec["step"])

    def on_step(record: dict) -> None:
        run_dir.append_step(record)
        run_dir.write_checkpoint(parts.strategy, parts.budget, loop.charged_keys, record["step"] + 1, loop.history())
        if tracker is not None and tracker_run_id:
            tracker.log_metrics(tracker_run_id, step_metrics(record), record["step"])
        if on_record:
            on_record(record)

    loop = OptimizationRun(parts.strategy, parts.evaluator, parts.budget, parts.seed_genome, on_step=on_step,
                           charged_keys=charged, steps=steps, history=history, on_call=on_call,
                           final_samples=parts.final_samples, final_pool=parts.final_pool)
    result = loop.run()
    run_dir.write_result(result)
    return result


def run_resolved(resolved, suite, session: Session, run_dir: RunDir, *, tracker=None, run_name: str = "",
                 parent_run_id: str | None = None, tags: dict | None = None, seed_genome: PromptGenome | None = None,
                 extra_seeds: tuple = (), on_record: Callable[[dict], None] | None = None,
                 resume: bool = False, on_call: Callable[[str], None] | None = None, force: bool = False,
                 param_keys: tuple | set = ()) -> RunResult:
    """Run ``resolved`` on ``suite`` (already limited) into ``run_dir``; see the module docstring.
    On resume, the tracker run recorded in ``config.json`` is continued. The tracker gets the core
    params and ``param_keys`` (what varies between the runs compared), the full config as an artifact.

    The run directory is owned for the whole run (``RunDir.owned``: a second process gets a one-line
    error). A fresh run refuses a directory that already holds a run unless ``force``. A resume refuses a
    ``config.json`` whose resolved config no longer matches its ``config_sha256`` and a suite whose
    examples changed since the run started (naming what changed)."""
    with run_dir.owned():
        if not resume:
            run_dir.refuse_reuse(force)
        return _run_owned(resolved, suite, session, run_dir, tracker=tracker, run_name=run_name,
                          parent_run_id=parent_run_id, tags=tags, seed_genome=seed_genome, extra_seeds=extra_seeds,
                          on_record=on_record, resume=resume, on_call=on_call, param_keys=param_keys)


def _run_owned(resolved, suite, session: Session, run_dir: RunDir, *, tracker, run_name, parent_run_id, tags,
               seed_genome, extra_seeds, on_record, resume, on_call, param_keys=()) -> RunResult:
    parts = session.parts(resolved, suite, seed_genome=seed_genome, extra_seeds=extra_seeds)
    if resume:
        meta = run_dir.read_json("config.json")
        check_resumable(meta, resolved, suite, run_dir)
        run_id = meta.get("tracker_run_id") if tracker is not None else None
        run_name = meta.get("tracker_run_name") or run_name or run_dir.path.name
    else:
        run_id = None
        run_name = run_name or run_dir.path.name
        if tracker is not None:
            run_id = tracker.start_run(run_name, parent_id=parent_run_id, tags={
                **(tags or {}), "strategy_kind": resolved.strategy.kind, "config_sha256": resolved.sha256(),
                "optimizer": f"{resolved.optimizer.kind}:{model_name_of(resolved.optimizer)}"})
            flat = flat_params(resolved.model_dump(mode="json"))
            tracker.log_params(run_id, run_params(flat, param_keys))
            tracker.set_tags(run_id, {"cache": str(resolved.cache)})
            tracker.log_dict(run_id, resolved.model_dump(mode="json"), "config/resolved_config.json")
        run_dir.write_config({"resolved": resolved.model_dump(mode="json"), "config_sha256": resolved.sha256(),
                              "seed_genome": parts.seed_genome.to_json(), "suite_examples": example_hashes(suite),
                              "extra_seeds": [g.to_json() for g in extra_seeds], "tracker_run_id": run_id,
                              "tracker_run_name": run_name,
                              "tracking": tracker.info() if tracker is not None else None})
    with run_outcome(tracker, run_id, finish=False):
        try:
            result = execute(parts, run_dir, tracker=tracker, tracker_run_id=run_id, resume=resume,
                             on_record=on_record, on_call=on_call)
        finally:
            parts.evaluator.close()
    if tracker is not None and run_id:
        tracker.log_metrics(run_id, final_metrics(result), 0)
        tracker.log_dict(run_id, result.best_genome.to_json(), "best_genome.json")
        tracker.log_dict(run_id, result.strategy_report, "strategy_report.json")
        tracker.log_dict(run_id, result.lineage, "lineage.json")
        tracker.set_tags(run_id, {"stop_reason": result.stop_reason, "best_genome_id": result.best_genome.id,
                                  # the score where the runs table shows it without picking a column
                                  "mlflow.runName": f"test {result.after['test']['mean_score']:.3f} · {run_name}",
                                  "recommended_genome_id": result.recommended_genome.id,
                                  "recommendation": result.recommendation.get("reason", ""),
                                  **register_winner(tracker, resolved, suite, result, run_id)})
        tracker.end_run(run_id, "FINISHED")
    return result


def example_hashes(suite) -> dict[str, str]:
    """A short content hash of every example (task, inputs, expected, split) by id: what a resume compares."""
    return {ex.id: stable_hash([ex.task, dict(ex.inputs), ex.expected, ex.split], size=6) for ex in suite.examples}


def check_resumable(meta: dict, resolved, suite, run_dir: RunDir) -> None:
    """One-line ``ConfigError`` when ``config.json`` was edited (its sha256 no longer matches) or the
    suite's examples differ from those the run started with."""
    path = run_dir.path / "config.json"
    from evo.run.resolve import config_sha256

    # the file as written (a version that added fields with defaults still resumes it), or as read
    if meta.get("config_sha256") and meta["config_sha256"] not in (config_sha256(meta.get("resolved") or {}),
                                                                   resolved.sha256()):
        raise ConfigError(path, "the resolved config does not match its config_sha256 (edited since the run "
                          "started?); start a new run with the edited config instead", "resolved")
    recorded = meta.get("suite_examples")
    if not isinstance(recorded, dict):
        return  # written before example hashes were recorded
    now = example_hashes(suite)
    changed = sorted(i for i in set(now) & set(recorded) if now[i] != recorded[i])
    added, removed = sorted(set(now) - set(recorded)), sorted(set(recorded) - set(now))
    if changed or added or removed:
        parts = [f"{len(ids)} {what} (first: {ids[0]})" for ids, what in
                 ((changed, "changed"), (added, "added"), (removed, "removed")) if ids]
        raise ConfigError(suite.source or suite.name, "the suite's examples differ from those the run in "
                          f"{run_dir.path} started with: " + ", ".join(parts) + "; restore the suite or start a new run")


def register_winner(tracker, resolved, suite, result: RunResult, run_id: str) -> dict:
    """Register the run's chosen genome as a new version of prompt ``<suite>.<strategy>`` (MLflow's
    prompt registry) with its scores as version tags; returns the run tags that point to it. A
    registry that refuses (e.g. a tracking server without one) is reported in a tag, not raised."""
    from evo.evaluation.render import prompt_template

    genome = result.best_genome
    scores = {f"{split}_score": f"{result.after[split]['mean_score']:.4f}" for split in SHARED_FINAL_METRICS}
    tags = {**scores, "strategy": resolved.strategy.kind, "seed": resolved.seed, "run_id": run_id,
            "genome_id": genome.id, "genome": json.dumps(genome.to_json(), sort_keys=True),
            "commit_message": f"{resolved.strategy.kind} seed {resolved.seed}: test {scores['test_score']}, "
                              f"val {scores['val_score']}, train {scores['train_score']}"}
    model = {"model_name": genome.model or model_name_of(resolved.task_model) or resolved.task_model.kind,
             "temperature": genome.temperature, "max_tokens": genome.max_tokens}
    try:
        version = tracker.register_prompt(f"{suite.name}.{resolved.strategy.kind}", prompt_template(genome, suite),
                                          model, tags)
    except Exception as exc:  # noqa: BLE001 - the run's results stand without the registry entry
        return {"prompt_registry_error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    return {"registered_prompt": version} if version else {}


def model_name_of(backend_cfg) -> str:
    """The model a backend config names (a GGUF path or model name; '' for the embedded model)."""
    data = backend_cfg.model_dump()
    return str(data.get("model") or data.get("model_path") or "embedded")


def load_resolved(run_dir: Path):
    """(resolved run, config.json metadata) of a run directory; one-line errors for anything unusable."""
    from evo.run.resolve import ResolvedRun
    from evo.config_base import validate_config

    rd = RunDir.existing(run_dir)
    meta = rd.read_json("config.json")
    if "resolved" not in meta:
        raise ConfigError(rd.path / "config.json", "no resolved config (written by an older version?)", "resolved")
    return validate_config(ResolvedRun, meta["resolved"], rd.path / "config.json"), meta
