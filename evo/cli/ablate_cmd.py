"""``evo ablate BASE --overlays F [F ...]`` or ``--grid KEY=V1,V2``: compare config variants."""
from __future__ import annotations

from pathlib import Path

import yaml
from evo.cli.console import make_console

from evo.errors import ConfigError


def register(sub) -> None:
    p = sub.add_parser("ablate", help="run config variants (overlay files or a grid) and compare them",
                       description="Each overlay is deep-merged onto BASE and run as a comparison; one table and plot.")
    p.add_argument("base", type=Path, help="base experiment YAML")
    p.add_argument("--overlays", type=Path, nargs="*", default=[], help="overlay YAML files (e.g. configs/ablations/*.yaml)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="dotted key and values, e.g. strategies.iterative.n_candidates=1,3 (repeatable)")
    from evo.cli.argtypes import add_threads_flag
    from evo.cli.compare_cmd import add_dry_run_flag, add_mlflow_flag

    add_mlflow_flag(p)
    add_threads_flag(p)
    add_dry_run_flag(p)
    p.set_defaults(func=run)


def parse_grid(items: list[str]) -> dict:
    grid = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            raise ConfigError("--grid", f"{item!r} must look like key.path=v1,v2")
        grid[key] = [yaml.safe_load(v) for v in values.split(",")]
    return grid


def run(args) -> int:
    from evo.cli.compare_cmd import errors_exit, print_locations, summary_table
    from evo.cli.progress import RunProgress
    from experiments.ablate import run_ablation

    console = make_console()
    if args.dry_run:
        from evo.cli.compare_cmd import experiment_estimate, print_dry_run, print_estimate
        from experiments.ablate import ablation_variants

        base, variants = ablation_variants(args.base, args.overlays, grid=parse_grid(args.grid), mlflow=args.mlflow)
        for label, resolved, _ in variants:
            print_estimate(console, experiment_estimate(resolved), f"variant {label}")
        return print_dry_run(console, {label: resolved.model_dump(mode="json") for label, resolved, _ in variants},
                             Path(base.output_dir) / f"{base.name}-ablation")
    report = run_ablation(args.base, args.overlays, RunProgress(console), grid=parse_grid(args.grid),
                          mlflow=args.mlflow)
    console.print(summary_table(report.rows, "ablation · held-out test (p: Wilcoxon vs baseline)"))
    print_locations(console, report)
    return errors_exit(console, report)
