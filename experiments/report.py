"""Comparison reports: computed first (pure rows + statistics), rendered after (CSV, Markdown, plots).

``Cell``: one finished run of a comparison (suite x strategy x seed, and the ablation variant).
``build_report(cells, resamples)`` groups cells by (variant, suite, strategy) and returns a
``ComparisonReport`` with one row per group (held-out test score with a two-level bootstrap 95% CI,
pass rates, calls, paired tests vs the baseline) and the pairwise strategy tests; it touches no file.
``render_report(report, out_dir)`` writes ``summary.csv``, ``summary.md``, ``summary.json``,
``pairwise.csv``, the plots and ``report.html`` (``experiments.html_report``); ``evo compare`` and ``evo ablate`` both use exactly these two steps.
"""
from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evo.run_dir import write_json
from evo.run_loop import RunResult
from experiments import plots
from experiments.stats import bootstrap_ci, mcnemar_p, wilcoxon_p


@dataclass(frozen=True)
class Cell:
    suite: str
    strategy: str
    seed: int
    result: RunResult
    variant: str = ""

    @property
    def label(self) -> str:
        return f"{self.variant}/{self.strategy}" if self.variant else self.strategy


@dataclass
class ComparisonReport:
    rows: list[dict]
    pairwise: list[dict]
    cells: list[Cell] = field(default_factory=list)
    dir: str = ""
    tracking: dict | None = None

    @property
    def tracking_uri(self) -> str | None:
        return (self.tracking or {}).get("uri")


def _groups(cells: list[Cell]) -> dict[tuple[str, str], dict[str, list[Cell]]]:
    """(variant, suite) -> strategy -> cells, in first-seen order."""
    out: dict[tuple[str, str], dict[str, list[Cell]]] = {}
    for c in cells:
        out.setdefault((c.variant, c.suite), {}).setdefault(c.strategy, []).append(c)
    return out


def _matrices(runs: list[Cell]) -> tuple[np.ndarray, np.ndarray]:
    """(seeds x test examples) scores and pass flags."""
    return (np.array([[r.score for r in c.result.test_records] for c in runs]),
            np.array([[r.passed for r in c.result.test_records] for c in runs]))


def build_report(cells: list[Cell], resamples: int = 2000) -> ComparisonReport:
    rows, pairwise = [], []
    with_variant = any(c.variant for c in cells)
    for (variant, suite), by_strategy in _groups(cells).items():
        matrices = {name: _matrices(runs) for name, runs in by_strategy.items()}
        base = matrices.get("baseline")
        key = {"variant": variant} if with_variant else {}
        for name, runs in by_strategy.items():
            scores, passed = matrices[name]
            mean, lo, hi = bootstrap_ci(scores, resamples, seed=0)
            row = {**key, "suite": suite, "strategy": name, "seeds": len(runs), "test_n": scores.shape[1],
                   "test_score": round(mean, 4), "ci95_low": round(lo, 4), "ci95_high": round(hi, 4),
                   "test_pass_rate": round(float(passed.mean()), 4),
                   # passes whose answer only repeats a few-shot demo's answer (not evidence of skill)
                   "test_passed_copied_demo": round(float(np.mean([sum(r.passed and r.copied_demo
                                                                       for r in c.result.test_records)
                                                                   for c in runs])), 2),
                   "train_before": round(float(np.mean([c.result.before["train"]["pass_rate"] for c in runs])), 4),
                   "train_after": round(float(np.mean([c.result.after["train"]["pass_rate"] for c in runs])), 4),
                   "val_after": round(float(np.mean([c.result.after["val"]["pass_rate"] for c in runs])), 4),
                   "task_calls": int(np.mean([c.result.calls["task"] for c in runs])),
                   "optimizer_calls": int(np.mean([c.result.calls["optimizer"] for c in runs])),
                   # calls that failed after the backends' retries, summed over seeds
                   "failed_task_calls": int(np.sum([c.result.budget["failed_task_calls"] for c in runs])),
                   "failed_optimizer_calls": int(np.sum([c.result.calls["optimizer_errors"] for c in runs]))}
            if base is not None and name != "baseline":
                row["wilcoxon_p_vs_baseline"] = round(wilcoxon_p(scores.mean(0), base[0].mean(0)), 4)
                row["mcnemar_p_vs_baseline"] = round(mcnemar_p(passed[0], base[1][0]), 4)
            rows.append(row)
        names = [n for n in by_strategy if n != "baseline"]
        for a, b in itertools.combinations(names, 2):
            pairwise.append({**key, "suite": suite, "a": a, "b": b,
                             "mean_diff": round(float(matrices[a][0].mean() - matrices[b][0].mean()), 4),
                             "wilcoxon_p": round(wilcoxon_p(matrices[a][0].mean(0), matrices[b][0].mean(0)), 4),
                             "mcnemar_p": round(mcnemar_p(matrices[a][1][0], matrices[b][1][0]), 4)})
    return ComparisonReport(rows, pairwise, list(cells))


# ---- rendering ------------------------------------------------------------------------------------
def markdown_table(rows: list[dict]) -> str:
    with_variant = any("variant" in r for r in rows)
    head = (["variant"] if with_variant else []) + [
        "suite", "strategy", "test score [95% CI]", "test pass", "train before → after", "val after",
        "calls task/opt", "p vs baseline (Wilcoxon / McNemar)"]
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        p = (f"{r['wilcoxon_p_vs_baseline']:.3f} / {r['mcnemar_p_vs_baseline']:.3f}"
             if "wilcoxon_p_vs_baseline" in r else "-")
        cells = ([r["variant"]] if with_variant else []) + [
            r["suite"], r["strategy"], f"{r['test_score']:.3f} [{r['ci95_low']:.3f}, {r['ci95_high']:.3f}]",
            f"{r['test_pass_rate']:.1%}", f"{r['train_before']:.1%} → {r['train_after']:.1%}", f"{r['val_after']:.1%}",
            f"{r['task_calls']}/{r['optimizer_calls']}", p]
        md.append("| " + " | ".join(cells) + " |")
    return "\n".join(md) + "\n"


PAIRWISE_COLUMNS = ["suite", "a", "b", "mean_diff", "wilcoxon_p", "mcnemar_p"]


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
    (out_dir / "summary.md").write_text(markdown_table(report.rows), encoding="utf-8")
    write_json(out_dir / "summary.json", {"rows": report.rows, "pairwise": report.pairwise})
    files = [out_dir / n for n in ("summary.csv", "summary.md", "summary.json", "pairwise.csv")]
    files += render_plots(report.cells, out_dir / "plots")
    for suite in dict.fromkeys(r["suite"] for r in report.rows):
        files.append(plots.test_scores_plot([r for r in report.rows if r["suite"] == suite],
                                            out_dir / "plots" / f"{suite}_test_scores.png", f"{suite}: held-out test"))
    from experiments.html_report import render_html

    files.append(render_html(report, out_dir, f"evo · {out_dir.name}", out_dir / "plots"))
    return files


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
