"""``run_ablation``: a base config and overlay files (or a grid), each variant run as a full comparison
through ``run_experiment`` (same resolution, session and evaluator pool, e.g. Ray, as ``evo compare``),
then one report over every variant built and rendered by the same code as a comparison's. Every
variant is reproducible from its files alone (its resolved config is written beside the results as
``<label>.config.yaml`` and logged to MLflow)."""
from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Mapping

from evo.config_base import deep_merge
from evo.paths import slug
from evo.tracking import build_tracker, flat_params, varying_keys
from experiments.config import load_raw, resolve_experiment, validate, with_mlflow
from experiments.render import render_report
from experiments.report import ComparisonReport, build_report
from experiments.runner import run_experiment, write_resolved


def grid_overlays(grid: dict[str, list]) -> list[tuple[str, dict]]:
    """``{"strategies.iterative.n_candidates": [1, 3]}`` -> one overlay per combination."""
    keys = list(grid)
    out = []
    for values in itertools.product(*(grid[k] for k in keys)):
        overlay: dict = {}
        for key, value in zip(keys, values):
            node = overlay
            *parents, leaf = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        label = "-".join(f"{k.split('.')[-1]}_{v}" for k, v in zip(keys, values))
        out.append((re.sub(r"[^A-Za-z0-9_.-]", "_", label), overlay))
    return out


def ablation_variants(base: Path, overlays: list[Path], *, grid: dict | None = None,
                      env: Mapping[str, str] | None = None, mlflow: bool | None = None):
    """(resolved base, [(label, resolved variant, source)]): each overlay file and each grid point
    deep-merged onto ``base`` and resolved (the base alone when there are none)."""
    base_raw = with_mlflow(load_raw(base)[0], mlflow)
    variants = [(p.stem, with_mlflow(load_raw(base, [p])[0], mlflow), f"{base} + {p}") for p in overlays]
    for label, overlay in grid_overlays(grid or {}):
        variants.append((label, deep_merge(base_raw, overlay), f"{base} + grid {label}"))
    if not variants:
        variants = [("base", base_raw, str(base))]
    base_cfg = resolve_experiment(validate(base_raw, str(base)), env)
    return base_cfg, [(label, resolve_experiment(validate({**raw, "name": slug(f"{base_cfg.name}-{label}")}, source),
                                                 env), source) for label, raw, source in variants]


def ablated_keys(variants: list) -> set[str]:
    """The run settings the variants change (per strategy: an iterative option ablated between variants
    is a param of every iterative run): what the MLflow compare view should show."""
    keys: set[str] = set()
    for name in {n for v in variants for n in v.strategies}:
        keys |= varying_keys([flat_params(v.cell(suite, name, seed).model_dump(mode="json"))
                              for v in variants if name in v.strategies for suite in v.suites for seed in v.seeds])
    return keys


def run_ablation(base: Path, overlays: list[Path], progress=None, *, grid: dict | None = None, backends=None,
                 env: Mapping[str, str] | None = None, mlflow: bool | None = None) -> ComparisonReport:
    base_cfg, variants = ablation_variants(base, overlays, grid=grid, env=env, mlflow=mlflow)
    root = Path(base_cfg.output_dir) / f"{base_cfg.name}-ablation"
    tracking = base_cfg.tracking
    if tracking.kind == "mlflow":
        tracking = tracking.model_copy(update={"experiment": f"{base_cfg.name}-ablation"})
    tracker = build_tracker(tracking, base_cfg.output_dir, f"{base_cfg.name}-ablation")
    keys = ablated_keys([resolved for _, resolved, _ in variants])
    cells = []
    for label, resolved, source in variants:
        if progress is not None:
            progress.say(f"variant {label} ({source})")
        write_resolved(resolved, root / f"{slug(label)}.config.yaml")
        report = run_experiment(resolved, progress=progress, backends=backends, tracker=tracker, variant=label,
                                source=source, param_keys=keys)
        cells += report.cells
    report = build_report(cells, base_cfg.bootstrap_resamples)
    render_report(report, root)
    report.dir, report.tracking = str(root), tracker.info()
    return report
