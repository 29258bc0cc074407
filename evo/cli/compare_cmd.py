"""``evo compare CONFIG [--overlay F ...]``: baseline vs strategies at a matched budget, with stats and plots."""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare strategies on held-out data (a config file)",
                       description="Run the baseline and every strategy of CONFIG on the same splits, seeds and "
                                   "budget; write tables, plots and MLflow runs.")
    p.add_argument("config", type=Path, help="experiment YAML (see configs/)")
    p.add_argument("--overlay", type=Path, action="append", default=[], help="overlay YAML deep-merged onto CONFIG")
    p.set_defaults(func=run)


def summary_table(rows: list[dict], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col, justify in (("suite", "left"), ("strategy", "left"), ("test [95% CI]", "right"),
                         ("train→", "right"), ("val", "right"), ("calls t/o", "right"), ("p vs base", "right")):
        table.add_column(col, justify=justify)
    for r in rows:
        p = f"{r['wilcoxon_p_vs_baseline']:.3f}" if "wilcoxon_p_vs_baseline" in r else "-"
        table.add_row(r["suite"], r["strategy"], f"{r['test_score']:.3f} [{r['ci95_low']:.2f},{r['ci95_high']:.2f}]",
                      f"{r['train_after']:.0%}", f"{r['val_after']:.0%}", f"{r['task_calls']}/{r['optimizer_calls']}", p)
    return table


def run(args) -> int:
    from experiments.runner import print_locations, run_experiment_file

    console = Console()
    report = run_experiment_file(args.config, args.overlay, console)
    console.print(summary_table(report["rows"], "held-out test score (mean over examples and seeds), Wilcoxon p vs baseline"))
    print_locations(console, report)
    return 0
