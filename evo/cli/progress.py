"""Progress lines shared by `evo optimize`, `evo resume` and `evo compare`."""
from __future__ import annotations


def _score(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


def step_line(r: dict) -> str:
    """One human-readable line for a run-loop step record (rich markup)."""
    d = r.get("detail") or {}
    calls = f"calls task {r['task_calls']} / optimizer {r['optimizer_calls']} · {r['wall_s']:.0f} s"
    best = f"best train {_score(r.get('best_train_score'))} val {_score(r.get('best_val_score'))}"
    if str(d.get("event", "")).startswith("race"):
        return (f"step {r['step']:>3} · {d.get('phase', ''):<10} · {d['event']}: {d.get('alive', 0)} candidate(s) "
                f"still racing · {best} · {calls}")
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


def budget_fraction(record: dict, max_calls: int | None) -> float | None:
    """Share of the call budget a step record has used (task, optimizer and monitoring calls)."""
    if not max_calls:
        return None
    used = record["task_calls"] + record["optimizer_calls"] + record.get("monitor_calls", 0)
    return min(1.0, used / max_calls)


def eta_s(record: dict, max_calls: int | None) -> float | None:
    """Seconds left if the rest of the budget goes as fast as what was used (None: unknown)."""
    frac = budget_fraction(record, max_calls)
    if not frac or frac >= 1.0:
        return None if not frac else 0.0
    return record["wall_s"] * (1.0 - frac) / frac


class RunProgress:
    """Progress of one or more runs: on a terminal a live bar per run (calls used vs budget, best
    train/val so far, elapsed and ETA); otherwise one plain line per step. Use as a context manager;
    ``start(label, max_calls)`` before a run returns that run's ``RunBar`` (its ``on_step(record)``
    and ``on_call(phase)`` callbacks). Several bars may run at once (parallel runs);
    ``on_step``/``on_call`` on this object go to the bar started last."""

    def __init__(self, console):
        self.console = console
        self.live = console.is_terminal
        self._progress = None
        self._current: RunBar | None = None

    def __enter__(self):
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[calls]}"),
                                      TextColumn("{task.fields[best]}"), TimeElapsedColumn(),
                                      TextColumn("ETA {task.fields[eta]}"), console=self.console, transient=False)
            self._progress.start()
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()

    def say(self, text: str) -> None:
        """One plain line (no markup is read from ``text``)."""
        self.console.print(text, markup=False, highlight=False)

    def start(self, label: str, max_calls: int | None) -> "RunBar":
        self._current = RunBar(self, label, max_calls)
        return self._current

    def on_step(self, record: dict) -> None:
        if self._current is None:
            self.start("", None)
        self._current.on_step(record)

    def on_call(self, phase: str) -> None:
        if self._current is not None:
            self._current.on_call(phase)


class RunBar:
    """One run's bar (or plain step lines)."""

    def __init__(self, owner: RunProgress, label: str, max_calls: int | None):
        import threading

        self.console, self._progress = owner.console, owner._progress
        self._label, self._max_calls = label, max_calls
        self._lock = threading.Lock()
        self._used = 0  # calls counted at the last step record
        self._since_step = 0  # examples evaluated since then
        self._last_draw = 0.0
        self._task = None
        if self._progress is not None:
            self._task = self._progress.add_task(label, total=max_calls or 1, calls="starting…", best="", eta="-")

    def on_step(self, record: dict) -> None:
        if self._progress is None:
            self.console.print((f"    [dim]{self._label}[/] " if self._label else "") + step_line(record))
            return
        used = record["task_calls"] + record["optimizer_calls"] + record.get("monitor_calls", 0)
        with self._lock:
            self._used, self._since_step = used, 0
        eta = eta_s(record, self._max_calls)
        self._progress.update(
            self._task, completed=min(used, self._max_calls or used),
            description=f"{self._label} · step {record['step']}",
            calls=f"calls {used}/{self._max_calls or '∞'} (task {record['task_calls']}, opt {record['optimizer_calls']})",
            best=f"best train {_score(record.get('best_train_score'))} val {_score(record.get('best_val_score'))}",
            eta="-" if eta is None else f"{eta:.0f} s")

    def on_call(self, phase: str) -> None:
        """One example evaluated (any thread): on a terminal the bar moves and shows the phase, at most
        ten redraws a second; plain output prints nothing here."""
        if self._progress is None:
            return
        import time

        with self._lock:
            self._since_step += 1
            now = time.monotonic()
            if now - self._last_draw < 0.1:
                return
            self._last_draw = now
            evaluated = self._since_step
        completed = self._used + evaluated if phase == "optimizing" else self._used
        self._progress.update(self._task, completed=min(completed, self._max_calls or completed),
                              description=f"{self._label} · {phase} · {evaluated} examples since the last step")
