"""Rendering of a ``ComparisonReport`` (``experiments.report``): ``summary.csv``, ``summary.md``,
``summary.json``, ``pairwise.csv``, the plots (``experiments.plots``) and ``report.html``
(``experiments.html_report``). ``render_report`` returns the files it wrote."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from evo.run.run_dir import write_json
from experiments import plots
from experiments.html_report import render_html
from experiments.report import PAIRWISE_COLUMNS, Cell, ComparisonReport, markdown_table


def _write_csv(path: Path, rows: list[dict], columns: list[str] = ()) -> None:
    cols = list(dict.fromkeys([*columns, *(k for r in rows for k in r)]))
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)


def render_report(report: ComparisonReport, out_dir: Path) -> list[Path]:
    """Write the tables and plots of ``report`` into ``out_dir``; return the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(out_dir / "summary.csv", report.rows)
    _write_csv(out_dir / "pairwise.csv", report.pairwise, PAIRWISE_COLUMNS)
    md = markdown_table(report.rows)
    if report.judged_pairs:
        md += "\n" + judged_pairs_markdown(report.judged_pairs)
        _write_csv(out_dir / "judged_pairs.csv", report.judged_pairs)
    (out_dir / "summary.md").write_text(md, encoding="utf-8")
    write_json(out_dir / "summary.json", {"rows": report.rows, "pairwise": report.pairwise,
                                          **({"judged_pairs": report.judged_pairs} if report.judged_pairs else {})})
    files = [out_dir / n for n in ("summary.csv", "summary.md", "summary.json", "pairwise.csv")]
    files += render_plots(report.cells, out_dir / "plots")
    for suite in dict.fromkeys(r["suite"] for r in report.rows):
        files.append(plots.test_scores_plot([r for r in report.rows if r["suite"] == suite],
                                            out_dir / "plots" / f"{suite}_test_scores.png", f"{suite}: held-out test"))
    files.append(render_html(report, out_dir, f"evo · {out_dir.name}", out_dir / "plots"))
    return files


def judged_pairs_markdown(rows: list[dict]) -> str:
    """The judged pairwise comparisons as a Markdown table (win rate of a over b, ties counting half)."""
    md = ["| suite | a | b | a wins / ties / b wins | win rate of a [95% CI] | judge errors |", "|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['suite']} | {r['a']} | {r['b']} | {r['a_wins']} / {r['ties']} / {r['b_wins']} | "
                  f"{r['win_rate_a']:.3f} [{r['ci95_low']:.3f}, {r['ci95_high']:.3f}] | {r['judge_errors']} |")
    return "\n".join(md) + "\n"


def render_plots(cells: list[Cell], plot_dir: Path) -> list[Path]:
    plot_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for suite in dict.fromkeys(c.suite for c in cells):
        runs = [c for c in cells if c.suite == suite and c.strategy != "baseline"]
        curves = {f"{c.label} s{c.seed}": [(s["task_calls"] + s["optimizer_calls"], s["best_train_score"])
                                           for s in c.result.steps if s.get("best_train_score") is not None]
                  for c in runs}
        written.append(plots.progress_plot(curves, plot_dir / f"{suite}_progress.png",
                                           f"{suite}: best train score vs LLM calls"))
        val_curves = {f"{c.label} s{c.seed}": [(s["task_calls"] + s["optimizer_calls"], s["best_val_score"])
                                               for s in c.result.steps if s.get("best_val_score") is not None]
                      for c in runs}
        written.append(plots.progress_plot(val_curves, plot_dir / f"{suite}_progress_val.png",
                                           f"{suite}: val score of the current best vs LLM calls",
                                           ylabel="val score of the best"))
        first_seed = min((c.seed for c in runs), default=0)
        points = {c.label: plots.pareto_flags(c.result.points) for c in runs if c.seed == first_seed and c.result.points}
        written.append(plots.pareto_plot(points, plot_dir / f"{suite}_pareto.png", f"{suite}: quality vs tokens (train)"))
        winner = max(runs, key=lambda c: float(np.mean([r.score for r in c.result.test_records])), default=None)
        if winner is not None:
            written.append(plots.lineage_plot(winner.result.lineage, plot_dir / f"{suite}_winner_lineage.png",
                                              f"{suite}: lineage of the best run ({winner.label}, seed {winner.seed})"))
    return written
