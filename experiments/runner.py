"""Run an experiment end to end (``evo compare``, ``evo ablate`` per variant, ``evo.compare``):
resolve once, write and log the resolved config, build the session (backends + evaluator pool), run
the comparison, build the report, render it, log it to the parent tracker run."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Mapping

import yaml

from evo.run.session import Session
from evo.tracking import build_tracker, flat_params, run_outcome
from experiments.compare import Comparison, Progress
from experiments.estimate import check_total_budget
from experiments.config import ExperimentConfig, ResolvedExperiment, load_experiment, resolve_experiment
from experiments.render import render_report
from experiments.report import ComparisonReport, build_report


def git_sha() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_resolved(resolved: ResolvedExperiment, path: Path) -> Path:
    """The resolved config as YAML: ``evo compare <path>`` reproduces the experiment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"# resolved config of experiment '{resolved.name}' (sha256 {resolved.sha256()}): every default applied\n"
    path.write_text(header + yaml.safe_dump(resolved.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    return path


def run_experiment(config: ExperimentConfig | str | Path, overlays: list = (), *, progress: Progress | None = None,
                   backends: dict | None = None, env: Mapping[str, str] | None = None, tracker=None,
                   variant: str = "", source: str = "", param_keys: tuple | set = ()) -> ComparisonReport:
    if not isinstance(config, ExperimentConfig):
        source = source or " + ".join(str(p) for p in [config, *overlays])
        config = load_experiment(config, overlays)
    resolved = config if isinstance(config, ResolvedExperiment) else resolve_experiment(config, env)
    check_total_budget(resolved)  # before anything is written or called
    out = resolved.out_dir
    resolved_file = write_resolved(resolved, out / "resolved_config.yaml")
    tracker = tracker or build_tracker(resolved.tracking, resolved.output_dir, resolved.name)
    parent = tracker.start_run(resolved.name, tags={
        "git_sha": git_sha(), "config_sha256": resolved.sha256(), "kind": "comparison", "config_source": source,
        "variant": variant, "optimizer": resolved.optimizer.kind})
    tracker.log_params(parent, experiment_params(resolved))
    if hasattr(tracker, "describe_experiment"):
        tracker.describe_experiment(resolved.description)
    tracker.log_file(parent, resolved_file, "config")
    with run_outcome(tracker, parent):
        with Session(resolved, backends=backends) as session:
            cells = Comparison(resolved, session, tracker, parent, progress=progress, variant=variant,
                               extra_param_keys=param_keys).run()
            judged = judge_winners(resolved, cells, session)
        report = build_report(cells, resolved.bootstrap_resamples)
        report.judged_pairs = judged
        report.dir, report.tracking = str(out), tracker.info()
        for path in render_report(report, out):
            tracker.log_file(parent, path, "plots" if path.suffix == ".png" else "report")
        tracker.log_metrics(parent, parent_metrics(report), 0)
    return report


def judge_winners(resolved: ResolvedExperiment, cells, session) -> list[dict]:
    """``experiments.judged_pairs`` for the experiment's ``judge_pairs`` (none: [])."""
    from experiments.judged_pairs import judged_pairs, pairs_of

    names = (["baseline"] if resolved.baseline else []) + list(resolved.strategies)
    pairs = pairs_of(resolved.judge_pairs, names)
    if not pairs:
        return []
    cache = resolved.cache if isinstance(resolved.cache, str) else None
    return judged_pairs(cells, session.judge_for(cache), pairs, resamples=resolved.bootstrap_resamples)


def experiment_params(resolved: ResolvedExperiment) -> dict:
    """The parent run's params: what the experiment compares and at what budget (the whole resolved
    config is its ``config/resolved_config.yaml`` artifact and ``config_sha256`` tag)."""
    flat = flat_params(resolved.model_dump(mode="json"))
    out = {"suites": ",".join(resolved.suites), "strategies": ",".join(resolved.strategies),
           "seeds": ",".join(map(str, resolved.seeds))}
    out.update({k: flat[k] for k in ("budget.max_calls", "budget.max_usd", "task_model.kind", "task_model.model",
                                     "optimizer.kind", "optimizer.model", "evaluator.kind") if k in flat})
    return out


def parent_metrics(report: ComparisonReport) -> dict:
    """The comparison's summary on its parent run: each strategy's test score and CI bounds."""
    out = {}
    for r in report.rows:
        prefix = "/".join(x for x in (r.get("variant", ""), r["suite"], r["strategy"]) if x)
        out.update({f"{prefix}/test_score": r["test_score"], f"{prefix}/ci95_low": r["ci95_low"],
                    f"{prefix}/ci95_high": r["ci95_high"]})
    return out


def compare(config, overlays: tuple = (), *, backends: dict | None = None, progress: Progress | None = None,
            env: Mapping[str, str] | None = None) -> ComparisonReport:
    """Run an experiment (a file, with optional overlay files, or an ``ExperimentConfig``): the baseline
    and every strategy x seed at a matched budget; returns the ``ComparisonReport``."""
    return run_experiment(config, list(overlays), progress=progress, backends=backends, env=env)
