"""Rich rendering of an evaluation: summary per task, cost/latency line, categories, diffs."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from evo.evaluation.feedback import Feedback
from evo.evaluation.records import EvalBatch


def print_eval_report(console: Console, title: str, batch: EvalBatch, feedback: Feedback,
                      cache_stats: dict | None = None, show_failures: int = 8) -> None:
    console.print(f"[bold]{title}")
    table = Table()
    for col, justify in (("task", "left"), ("examples", "right"), ("passed", "right"),
                         ("pass rate", "right"), ("mean score", "right")):
        table.add_column(col, justify=justify)
    per_task = batch.per_task()
    for name, t in per_task.items():
        table.add_row(name, str(t["n"]), str(t["passed"]), f"{t['pass_rate']:.1%}", f"{t['mean_score']:.3f}")
    if len(per_task) > 1:
        table.add_row("[bold]overall", str(batch.n), str(batch.n_passed), f"[bold]{batch.pass_rate:.1%}",
                      f"{batch.mean_score:.3f}")
    console.print(table)
    line = (f"{feedback.headline} · errors {batch.n_errors} · tokens in/out {batch.input_tokens}/"
            f"{batch.output_tokens} · latency mean {batch.latency_mean_s * 1000:.0f} ms, "
            f"p95 {batch.latency_p95_s * 1000:.0f} ms · cost ${batch.cost_usd:.4f} · wall {batch.wall_s:.1f} s")
    if cache_stats is not None:
        line += f" · cache hits {batch.n_cached}/{batch.n}"
    if batch.n_copied_demo:
        line += f" · [yellow]{batch.n_copied_demo} answers repeat a demo's answer[/]"
    console.print(line)
    if feedback.categories:
        cats = Table(title="Failure categories", title_justify="left")
        cats.add_column("category")
        cats.add_column("count", justify="right")
        cats.add_column("patterns")
        cats.add_column("likely fix")
        for c in feedback.categories:
            cats.add_row(c.name, str(c.count), "\n".join(c.patterns) or "-", c.fix)
        console.print(cats)
    if show_failures and feedback.diffs:
        diffs = Table(title=f"Failures (first {min(show_failures, len(feedback.diffs))}, expected vs actual)",
                      title_justify="left")
        for col in ("example", "input", "expected", "actual", "category"):
            diffs.add_column(col, overflow="fold")
        for d in feedback.diffs[:show_failures]:
            diffs.add_row(d.example_id, d.input_text[:80], str(d.expected)[:60],
                          (d.actual[:80] or "[dim](empty)") + (f"\n[dim]{d.message[:80]}" if d.message else ""),
                          d.category or "")
        console.print(diffs)
