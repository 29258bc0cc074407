"""Matplotlib figures (PNG) for comparisons: progress vs LLM calls, Pareto front, winner's lineage."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def progress_plot(curves: dict[str, list[tuple[float, float]]], path: Path, title: str,
                  xlabel: str = "LLM calls (task + optimizer)", ylabel: str = "best score on train") -> Path:
    """``curves``: label -> [(x, y)], by default (LLM calls, best train score)."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, points in sorted(curves.items()):
        if points:
            xs, ys = zip(*points)
            ax.step(xs, ys, where="post", marker="o", markersize=3, label=label)
    return _save(fig, ax, path, title, xlabel, ylabel, legend_size=8)


def _save(fig, ax, path: Path, title: str, xlabel: str, ylabel: str, legend_size: int) -> Path:
    """Label, grid, legend, write the PNG and free the figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=legend_size)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def pareto_plot(points: dict[str, list[dict]], path: Path, title: str, cost_key: str = "tokens") -> Path:
    """``points``: label -> [{quality, tokens, latency_ms, pareto: bool}] for every evaluated genome."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, pts in sorted(points.items()):
        if not pts:
            continue
        ax.scatter([p[cost_key] for p in pts], [p["quality"] for p in pts], s=12, alpha=0.35, label=f"{label} (all)")
        front = sorted((p for p in pts if p.get("pareto")), key=lambda p: p[cost_key])
        if front:
            ax.plot([p[cost_key] for p in front], [p["quality"] for p in front], marker="D", markersize=5,
                    label=f"{label} front")
    return _save(fig, ax, path, title, "tokens per example" if cost_key == "tokens" else cost_key,
                 "quality on train", legend_size=7)


def lineage_plot(chain: list[dict], path: Path, title: str) -> Path:
    """``chain``: the winner's ancestry, root first: [{id, operator, quality, instruction}]."""
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.75 * max(1, len(chain))))
    ax.axis("off")
    for i, node in enumerate(chain):
        y = len(chain) - i
        quality = node.get("quality")
        q = f"{quality:.2f}" if isinstance(quality, (int, float)) else "?"
        text = f"{node['id']}  [{node.get('operator', '')}]  q={q}\n{node.get('instruction', '')[:90]!r}"
        ax.text(0.02, y, text, fontsize=7.5, va="center", family="monospace",
                bbox={"boxstyle": "round", "fc": "#eef4ff" if i < len(chain) - 1 else "#d8f5d0"})
        if i:
            ax.annotate("", xy=(0.01, y + 0.25), xytext=(0.01, y + 0.75), arrowprops={"arrowstyle": "->"})
    ax.set_ylim(0.3, len(chain) + 0.7)
    ax.set_xlim(0, 1)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def pareto_flags(points: list[dict], cost_key: str = "tokens") -> list[dict]:
    """Mark non-dominated points (max quality, min cost)."""
    out = []
    for p in points:
        dominated = any(q["quality"] >= p["quality"] and q[cost_key] <= p[cost_key] and
                        (q["quality"] > p["quality"] or q[cost_key] < p[cost_key]) for q in points)
        out.append({**p, "pareto": not dominated})
    return out


def test_scores_plot(rows: list[dict], path: Path, title: str) -> Path:
    """Held-out test score per strategy with its 95% CI (``rows``: report rows of one suite)."""
    fig, ax = plt.subplots(figsize=(7, 0.8 + 0.45 * max(1, len(rows))))
    labels = [f"{r['variant']}/{r['strategy']}" if r.get("variant") else r["strategy"] for r in rows]
    means = [r["test_score"] for r in rows]
    err = [[m - r["ci95_low"] for m, r in zip(means, rows)], [r["ci95_high"] - m for m, r in zip(means, rows)]]
    ax.barh(range(len(rows)), means, xerr=err, capsize=4, color=["#9aa5b8" if r["strategy"] == "baseline" else "#4c78a8"
                                                                 for r in rows])
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    return _save(fig, ax, path, title, "held-out test score (95% CI)", "", legend_size=8)
