"""Comparison reports: computed first (pure rows + statistics), rendered after (CSV, Markdown, plots).

``Cell``: one finished run of a comparison (suite x strategy x seed, and the ablation variant).
``build_report(cells, resamples)`` groups cells by (variant, suite, strategy) and returns a
``ComparisonReport`` with one row per group (held-out test score with a two-level bootstrap 95% CI,
pass rates, calls, paired tests vs the baseline) and the pairwise strategy tests; it touches no file.
Rendering lives in ``experiments.render`` (``render_report(report, out_dir)``: the CSV, Markdown and
JSON tables, the plots and ``report.html``); ``evo compare`` and ``evo ablate`` both use exactly these
two steps. This module touches no file and imports no renderer.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from evo.run.loop import RunResult
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
    judged_pairs: list[dict] = field(default_factory=list)  # experiments.judged_pairs rows

    @property
    def tracking_uri(self) -> str | None:
        return (self.tracking or {}).get("uri")

    def to_dataframe(self):
        """The summary rows (one per suite x strategy, as in ``summary.csv``) as a ``pandas.DataFrame``."""
        import pandas

        return pandas.DataFrame(self.rows)

    def to_json(self) -> dict:
        return {"dir": self.dir, "rows": self.rows, "pairwise": self.pairwise, "tracking": self.tracking,
                **({"judged_pairs": self.judged_pairs} if self.judged_pairs else {})}


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
            sampled = [c.result.repeats["after"] for c in runs if c.result.repeats]
            if sampled:  # final_samples > 1: reliability of the chosen prompt under repeated sampling
                row["test_k"] = sampled[0]["k"]
                row["test_pass_at_k"] = round(float(np.mean([s["pass_at_k"] for s in sampled])), 4)
                row["test_pass_all_k"] = round(float(np.mean([s["pass_all_k"] for s in sampled])), 4)
                row["test_flake_rate"] = round(float(np.mean([s["flake_rate"] for s in sampled])), 4)
            if name != "baseline":  # seeds whose winner beat the seed significantly on val (evo.run.recommend)
                recommended = sum(bool(c.result.recommendation.get("use_winner")) for c in runs)
                row["winner_recommended"] = f"{recommended}/{len(runs)}"
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
        "calls task/opt", "p vs baseline (Wilcoxon / McNemar)", "winner recommended (seeds)"]
    k = next((r["test_k"] for r in rows if "test_k" in r), None)
    if k is not None:
        head += [f"pass@{k}", f"pass^{k}", "flaky"]
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        p = (f"{r['wilcoxon_p_vs_baseline']:.3f} / {r['mcnemar_p_vs_baseline']:.3f}"
             if "wilcoxon_p_vs_baseline" in r else "-")
        cells = ([r["variant"]] if with_variant else []) + [
            r["suite"], r["strategy"], f"{r['test_score']:.3f} [{r['ci95_low']:.3f}, {r['ci95_high']:.3f}]",
            f"{r['test_pass_rate']:.1%}", f"{r['train_before']:.1%} → {r['train_after']:.1%}", f"{r['val_after']:.1%}",
            f"{r['task_calls']}/{r['optimizer_calls']}", p, r.get("winner_recommended", "-")]
        if k is not None:
            cells += [f"{r[key]:.1%}" if key in r else "-" for key in ("test_pass_at_k", "test_pass_all_k",
                                                                         "test_flake_rate")]
        md.append("| " + " | ".join(cells) + " |")
    return "\n".join(md) + "\n"


PAIRWISE_COLUMNS = ["suite", "a", "b", "mean_diff", "wilcoxon_p", "mcnemar_p"]
