"""Progress lines shared by `evo optimize`, `evo resume` and `evo compare`."""
from __future__ import annotations


def _score(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def step_line(r: dict) -> str:
    """One human-readable line for a run-loop step record (rich markup)."""
    d = r.get("detail") or {}
    calls = f"calls task {r['task_calls']} / optimizer {r['optimizer_calls']} · {r['wall_s']:.0f} s"
    best = f"best train {_score(r.get('best_train_score'))} val {_score(r.get('best_val_score'))}"
    if "gen" in d:
        return (f"step {r['step']:>3} · gen {d['gen']:<6} · {best} · quality mean {d['quality_mean']:.3f} · "
                f"diversity {d['diversity']:.2f} · {calls}")
    if d.get("event") == "baseline":
        score = d.get("train_score", d.get("val_score"))
        return f"step {r['step']:>3} · {d['phase']:<10} · baseline score {score:.3f} · {calls}"
    verdict = "[green]accepted" if d.get("accepted") else "[yellow]rejected"
    rejections = d.get("rejections") or []
    why = f" ({'; '.join(sorted(set(rejections)))[:90]})" if rejections and not d.get("accepted") else ""
    return (f"step {r['step']:>3} · {d.get('phase', ''):<10} · {verdict}[/] "
            f"{d.get('score_before', 0):.3f} → {d.get('score_after', 0):.3f}{why} · {best} · {calls}")
