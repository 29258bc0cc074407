"""Progress lines shared by `evo optimize`, `evo resume` and `evo compare`."""
from __future__ import annotations


def step_line(r: dict) -> str:
    """One human-readable line for a run-loop step record (rich markup)."""
    if "gen" in r:
        return (f"step {r['step']:>3} · gen {r['gen']:<6} · best {r['best_score']:.3f} · quality best "
                f"{r['quality_best']:.3f} mean {r['quality_mean']:.3f} · diversity {r['diversity']:.2f} · "
                f"calls task {r['task_calls']} / optimizer {r['optimizer_calls']} · {r['wall_s']:.0f} s")
    if r.get("event") == "baseline":
        score = r.get("train_score", r.get("val_score"))
        return f"step {r['step']:>3} · {r['phase']:<10} · baseline score {score:.3f}"
    verdict = "[green]accepted" if r.get("accepted") else "[yellow]rejected"
    rejections = r.get("rejections") or []
    why = f" ({'; '.join(sorted(set(rejections)))[:90]})" if rejections and not r.get("accepted") else ""
    return (f"step {r['step']:>3} · {r.get('phase', ''):<10} · {verdict}[/] "
            f"{r.get('score_before', 0):.3f} → {r.get('score_after', 0):.3f}{why} · calls task {r['task_calls']} "
            f"/ optimizer {r['optimizer_calls']} · {r['wall_s']:.0f} s")
