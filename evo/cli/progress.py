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


LABEL_WIDTH = 22  # the run's label column; with the other columns a row fits 80 terminal columns


def _short(value) -> str:
    return f"{value:.2f}".removeprefix("0") if isinstance(value, (int, float)) else "-"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class RunProgress:
    """Progress of one or more runs: on a terminal a live row per run that fits 80 columns (label and
    phase, bar, calls used of the budget, best train/val so far, elapsed, ETA); otherwise one plain
    line per step. Use as a context manager; ``start(label, max_calls)`` before a run returns that
    run's ``RunBar`` (its ``on_step(record)`` and ``on_call(phase)`` callbacks, and ``finish()``, which
    freezes the row: its clock stops). Several bars may run at once (parallel runs);
    ``on_step``/``on_call`` on this object go to the bar started last."""

    def __init__(self, console):
        self.console = console
        self.live = console.is_terminal
        self._progress = None
        self._current: RunBar | None = None

    def __enter__(self):
        if self.live:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}", style="bold"), BarColumn(bar_width=14),
                TextColumn("{task.fields[calls]}"), TextColumn("{task.fields[best]}"), TimeElapsedColumn(),
                TextColumn("ETA {task.fields[eta]}"), console=self.console, transient=False, expand=False)
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

    def finish(self) -> None:
        if self._current is not None:
            self._current.finish()


class RunBar:
    """One run's row (or plain step lines)."""

    def __init__(self, owner: RunProgress, label: str, max_calls: int | None):
        import threading

        self.console, self._progress = owner.console, owner._progress
        self._label, self._max_calls = label, max_calls
        self._lock = threading.Lock()
        self._used = 0  # calls counted at the last step record
        self._since_step = 0  # examples evaluated since then
        self._scored = 0  # examples scored in the final scoring
        self._last_draw = 0.0
        self._task = None
        self._done = False
        if self._progress is not None:
            self._task = self._progress.add_task(self._describe("starting"), total=max_calls or 1,
                                                 calls=f"0/{max_calls or '∞'}", best="", eta="-")

    def _describe(self, phase: str) -> str:
        label = self._label if len(self._label) <= LABEL_WIDTH else "…" + self._label[-(LABEL_WIDTH - 1):]
        return f"{label} {phase}"

    def on_step(self, record: dict) -> None:
        if self._progress is None:
            self.console.print((f"    [dim]{self._label}[/] " if self._label else "") + step_line(record))
            return
        used = record["task_calls"] + record["optimizer_calls"] + record.get("monitor_calls", 0)
        with self._lock:
            self._used, self._since_step = used, 0
        self._progress.update(
            self._task, completed=min(used, self._max_calls or used),
            description=self._describe(f"s{record['step']}"), calls=f"{used}/{self._max_calls or '∞'}",
            best=f"tr {_short(record.get('best_train_score'))} va {_short(record.get('best_val_score'))}",
            eta=_clock(eta_s(record, self._max_calls)))

    def on_call(self, phase: str) -> None:
        """One example evaluated (any thread): on a terminal the row moves and shows the phase (the final
        scoring counts its examples), at most ten redraws a second; plain output prints nothing here."""
        if self._progress is None or self._done:
            return
        import time

        with self._lock:
            if phase == "optimizing":
                self._since_step += 1
            else:
                self._scored += 1
            now = time.monotonic()
            if now - self._last_draw < 0.1:
                return
            self._last_draw = now
            evaluated, scored = self._since_step, self._scored
        if phase == "optimizing":
            completed = self._used + evaluated
            self._progress.update(self._task, completed=min(completed, self._max_calls or completed),
                                  description=self._describe(f"+{evaluated}"))
        else:
            total = getattr(phase, "total", None)  # evo.run.loop.Phase: the final scoring's size
            self._progress.update(self._task, description=self._describe(
                f"final {scored}/{total}" if total else f"final {scored}"), eta="-")

    def finish(self) -> None:
        """The run ended: the row keeps its last figures, its clock stops, the bar is full."""
        if self._progress is None or self._done:
            return
        self._done = True
        self._progress.update(self._task, completed=self._max_calls or 1, total=self._max_calls or 1,
                              description=self._describe("done"), eta="0:00")
        self._progress.stop_task(self._task)
