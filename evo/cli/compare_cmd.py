"""``evo compare CONFIG [--overlay F ...]``: baseline vs strategies at a matched budget, with stats and plots."""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare strategies on held-out data (a config file)",
                       description="Run the baseline and every strategy of CONFIG on the same splits, seeds and "
                                   "budget; write tables, plots and MLflow runs.")
    p.add_argument("config", type=Path, help="experiment YAML (see configs/)")
    p.add_argument("--overlay", type=Path, action="append", default=[], help="overlay YAML deep-merged onto CONFIG")
    p.add_argument("--yes", action="store_true", help="accepted for scripts; runs never prompt")
    p.set_defaults(func=run)


def run(args) -> int:
    from experiments.runner import run_experiment_file

    console = Console()
    report = run_experiment_file(args.config, args.overlay, console)
    console.print(Markdown((Path(report["dir"]) / "summary.md").read_text()))
    return 0
