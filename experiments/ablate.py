"""``run_ablation``: a base config and overlay files (or a grid), each variant run as a comparison;
one table and one plot comparing the variants. Every variant is reproducible from its files alone
(its resolved config is written beside its results and logged to MLflow)."""
from __future__ import annotations

import csv
import re
import itertools
from pathlib import Path

from evo.run_dir import write_json
from experiments import plots
from experiments.compare import Comparison
from experiments.config import deep_merge, load_raw, validate
from experiments.tracking import build_tracker


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


def run_ablation(base: Path, overlays: list[Path], console, *, grid: dict | None = None, backends=None) -> dict:
    base_raw, _ = load_raw(base)
    variants = [(p.stem, load_raw(base, [p])[0], f"{base} + {p}") for p in overlays]
    for label, overlay in grid_overlays(grid or {}):
        variants.append((label, deep_merge(base_raw, overlay), f"{base} + grid {label}"))
    if not variants:
        variants = [("base", base_raw, str(base))]
    root = Path(validate(base_raw, str(base)).output_dir) / f"{base_raw['name']}-ablation"
    root.mkdir(parents=True, exist_ok=True)
    rows, curves = [], {}
    for label, raw, source in variants:
        raw = {**raw, "name": f"{base_raw['name']}-{label}"}
        config = validate(raw, source)
        console.print(f"[bold]variant {label}[/] ({source})")
        write_json(root / f"{label}.config.json", config.model_dump(mode="json"))
        tracker = build_tracker(config.tracking, config.output_dir, f"{base_raw['name']}-ablation")
        comparison = Comparison(config, tracker, console=console, backends=backends, source=source)
        report = comparison.run()
        for r in report["rows"]:
            rows.append({"variant": label, **r})
        for o in comparison.outcomes:
            if o.strategy != "baseline":
                curves[f"{label}/{o.strategy} s{o.seed}"] = [
                    (s["task_calls"] + s["optimizer_calls"], s["best_train_score"]) for s in o.steps
                    if s.get("best_train_score") is not None]
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with open(root / "ablation.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    md = ["| variant | suite | strategy | test score [95% CI] | train after | calls task/opt |", "|---|---|---|---|---|---|"]
    md += [f"| {r['variant']} | {r['suite']} | {r['strategy']} | {r['test_score']:.3f} [{r['ci95_low']:.3f}, "
           f"{r['ci95_high']:.3f}] | {r['train_after']:.1%} | {r['task_calls']}/{r['optimizer_calls']} |" for r in rows]
    (root / "ablation.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    plots.progress_plot(curves, root / "ablation_progress.png", "ablation: best train score vs LLM calls")
    return {"rows": rows, "dir": str(root)}
