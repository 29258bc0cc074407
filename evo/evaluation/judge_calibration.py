"""Judge calibration: how often a suite's ``llm_judge`` checks agree with human labels.

``calibrate(suite)`` scores every labelled output of every task (``Task.judge_labels``) with that task's
judge checks only (the suite must be bound: ``TaskSuite.with_judge``) and compares the verdicts with the
labels. A verdict passes when the judge checks' weighted score reaches the task's ``pass_threshold``; a
score label is a pass when it reaches the same threshold. A judge reply that is garbage (category
``error``) is a fail verdict and is counted apart. Reports accuracy, Cohen's kappa and the confusion
table, per task and over all tasks, plus the mean absolute error for score labels.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from evo.tasks.suite import JudgeLabel, Task, TaskSuite


def cohen_kappa(confusion: dict[str, int]) -> float | None:
    """Cohen's kappa of a 2x2 table (keys ``tp``, ``fp``, ``fn``, ``tn``: judge vs human); None when
    the chance agreement is 1 (every verdict and every label the same), where kappa is undefined."""
    n = sum(confusion.values())
    if n == 0:
        return None
    observed = (confusion["tp"] + confusion["tn"]) / n
    judge_pass = (confusion["tp"] + confusion["fp"]) / n
    human_pass = (confusion["tp"] + confusion["fn"]) / n
    chance = judge_pass * human_pass + (1 - judge_pass) * (1 - human_pass)
    return None if chance >= 1.0 else (observed - chance) / (1 - chance)


def _verdict(task: Task, row: JudgeLabel) -> dict:
    checks = [c for c in task.checks if hasattr(c, "bound")]
    results = [c(row.output, row.expected, row.inputs) for c in checks]
    total = sum(r.weight for r in results)
    score = sum(r.score * r.weight for r in results) / total
    error = next((r.message for r in results if r.category == "error"), None)
    calls = sum((r.usage or {}).get("calls", 0) for r in results)
    return {"id": row.id, "task": task.name, "label": row.label, "human_pass": row.label_score >= task.pass_threshold - 1e-9,
            "judge_score": score, "judge_pass": error is None and score >= task.pass_threshold - 1e-9,
            "error": error, "message": "; ".join(r.message for r in results if r.message)[:300], "judge_calls": calls}


def summarize(rows: list[dict]) -> dict:
    confusion = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for r in rows:
        key = ("t" if r["judge_pass"] == r["human_pass"] else "f") + ("p" if r["judge_pass"] else "n")
        confusion[key] += 1
    n = len(rows)
    scored = [r for r in rows if not isinstance(r["label"], str)]
    return {
        "n": n, "accuracy": (confusion["tp"] + confusion["tn"]) / n if n else None,
        "kappa": cohen_kappa(confusion), "confusion": confusion,
        "errors": sum(1 for r in rows if r["error"]),
        "human_pass_rate": sum(r["human_pass"] for r in rows) / n if n else None,
        "judge_pass_rate": sum(r["judge_pass"] for r in rows) / n if n else None,
        "score_mae": (sum(abs(r["judge_score"] - float(r["label"])) for r in scored) / len(scored)) if scored else None,
        "judge_calls": sum(r["judge_calls"] for r in rows),
    }


def calibrate(suite: TaskSuite, *, workers: int = 1, on_row=None) -> dict:
    """Agreement of ``suite``'s judge checks with its labelled outputs (``ValueError`` when no task has
    both a judge check and labels). ``{"tasks": {name: summary}, "overall": summary, "rows": [...]}``."""
    jobs = [(task, row) for task in suite.tasks if any(hasattr(c, "bound") for c in task.checks)
            for row in task.judge_labels]
    if not jobs:
        raise ValueError(f"suite {suite.name!r} has no task with both an llm_judge check and judge_labels_file")

    def one(job):
        row = _verdict(*job)
        if on_row is not None:
            on_row(row)
        return row
    with ThreadPoolExecutor(max(1, workers)) as pool:
        rows = list(pool.map(one, jobs))
    tasks = {}
    for name in dict.fromkeys(r["task"] for r in rows):
        tasks[name] = summarize([r for r in rows if r["task"] == name])
    return {"suite": suite.name, "tasks": tasks, "overall": summarize(rows), "rows": rows}
