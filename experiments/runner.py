"""Run an experiment file end to end (used by ``evo compare`` and ``evo ablate``)."""
from __future__ import annotations

from pathlib import Path

from rich.table import Table

from experiments.compare import Comparison
from experiments.config import load_experiment
from experiments.estimate import estimate
from experiments.tracking import build_tracker


def print_estimate(console, config) -> None:
    est = estimate(config)
    table = Table(title=f"estimate for '{config.name}' (upper bound)", title_justify="left")
    for col in ("runs", "task calls", "optimizer calls", "tokens", "USD"):
        table.add_column(col, justify="right")
    usd = f"${est['usd']:.2f}" + ("" if est["priced"] else " (some models unpriced)")
    table.add_row(str(est["runs"]), f"{est['task_calls']:,}", f"{est['optimizer_calls']:,}", f"{est['tokens']:,}", usd)
    console.print(table)


def build_evaluator_factory(config, comparison):
    if config.evaluator.kind != "ray":
        return None
    from evo.evaluation.ray_evaluator import RayEvaluatorPool

    pool = RayEvaluatorPool(config.evaluator, config.task_model, cache_path=comparison.cache.path if comparison.cache else None)
    comparison.closers = [pool.shutdown]
    return pool.evaluator


def run_experiment_file(path: Path, overlays: list[Path], console, *, backends=None) -> dict:
    config = load_experiment(path, overlays)
    source = " + ".join(str(p) for p in [path, *overlays])
    print_estimate(console, config)
    tracker = build_tracker(config.tracking, config.output_dir, config.name)
    comparison = Comparison(config, tracker, console=console, backends=backends, source=source)
    comparison.evaluator_factory = build_evaluator_factory(config, comparison)
    try:
        report = comparison.run()
    finally:
        for close in getattr(comparison, "closers", []):
            close()
    report["tracking_uri"] = getattr(tracker, "uri", None)
    return report


def print_locations(console, report: dict) -> None:
    console.print(f"results: {report['dir']}/summary.md, summary.csv, pairwise.csv · plots: {report['dir']}/plots/")
    if report.get("tracking_uri"):
        console.print(f"MLflow: .venv/bin/mlflow ui --backend-store-uri '{report['tracking_uri']}' --workers 1  "
                      "(then open http://127.0.0.1:5000)")
