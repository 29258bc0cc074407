"""``Comparison``: baseline + every configured strategy on the same splits, seeds and budget.

For each suite of a ``ResolvedExperiment``: the seed prompt (the ``baseline`` strategy, scored by the
same final-scoring code as every winner) and each strategy x seed, each run through
``evo.run.execute.run_resolved`` with an evaluator from the session's pool (threads or Ray, built once per
invocation and injected), into ``<out>/runs/<suite>/<strategy>/seed<N>`` and an MLflow child run of
``parent_run_id``. ``run()`` returns the finished ``Cell``s; the report is built from them afterwards.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from typing import Protocol

from evo.run.session import Session
from evo.tracking import flat_params, varying_keys
from evo.run.execute import run_resolved
from evo.run.run_dir import RunDir
from evo.paths import child_path
from evo.tasks.loader import load_suite
from experiments import plots
from experiments.config import ResolvedExperiment
from experiments.report import Cell

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _nothing():
    yield


_PLOT_LOCK = threading.Lock()


class SerializedTracker:
    """A tracker shared by parallel runs: one call at a time (MLflow's sqlite store is not safe to
    write from several threads at once)."""

    def __init__(self, inner):
        self._inner = inner
        self._lock = threading.Lock()

    def __getattr__(self, name):
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            with self._lock:
                return attr(*args, **kwargs)
        return call


class Progress(Protocol):
    """What a comparison reports to (the CLI passes its terminal progress; None: the log only): a
    context manager; ``say(text)`` one plain line; ``start(label, max_calls)`` a run's bar, with
    ``on_step(record)``, ``on_call(phase)`` and ``finish()`` (the run ended)."""

    def __enter__(self): ...
    def __exit__(self, *exc): ...
    def say(self, text: str) -> None: ...
    def start(self, label: str, max_calls: int | None): ...


class Comparison:
    def __init__(self, resolved: ResolvedExperiment, session: Session, tracker, parent_run_id: str | None, *,
                 progress: Progress | None = None, variant: str = "", extra_param_keys: tuple | set = ()):
        self.resolved = resolved
        self.session = session
        self.tracker = tracker
        self.parent_run_id = parent_run_id
        self.progress = progress
        self.variant = variant
        self.extra_param_keys = set(extra_param_keys)  # e.g. what an ablation varies between its variants
        self.out = resolved.out_dir

    def say(self, text: str) -> None:
        if self.progress is not None:
            self.progress.say(text)
        log.info(text)

    def run(self) -> list[Cell]:
        cells: list[Cell] = []
        names = (["baseline"] if self.resolved.baseline else []) + list(self.resolved.strategies)
        # the settings that differ between this comparison's runs become MLflow params (with the core ones)
        self.param_keys = set(self.extra_param_keys) | varying_keys(
            [flat_params(self.resolved.cell(s, n, seed).model_dump(mode="json"))
             for s in self.resolved.suites for n in names for seed in self.resolved.seeds])
        with self.progress or _nothing():
            for suite_ref in self.resolved.suites:
                suite = self.resolved.split_limits.apply(load_suite(suite_ref))
                counts = suite.counts()
                self.say(f"suite {suite.name}: train {counts['train']} · val {counts['val']} · test {counts['test']}")
                jobs = [(suite_ref, suite, name, seed) for name, seed in itertools.product(names, self.resolved.seeds)]
                cells += self._run_all(jobs)
        return cells

    def _run_all(self, jobs: list[tuple]) -> list[Cell]:
        """The cells of ``jobs`` in order; ``parallel_runs`` of them at a time (threads in this process:
        the strategies' own work is light, evaluation goes to the shared pool or Ray cluster)."""
        workers = min(self.resolved.parallel_runs, len(jobs))
        if workers <= 1:
            return [self._run_cell(*job) for job in jobs]
        from concurrent.futures import ThreadPoolExecutor

        tracker = self.tracker
        self.tracker = SerializedTracker(tracker) if tracker is not None else None
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="evo-cell") as pool:
                return list(pool.map(lambda job: self._run_cell(*job), jobs))
        finally:
            self.tracker = tracker

    def _run_cell(self, suite_ref: str, suite, name: str, seed: int) -> Cell:
        resolved = self.resolved.cell(suite_ref, name, seed)
        run_dir = RunDir(child_path(self.out / "runs", suite.name, name, f"seed{seed}"))
        bar = self.progress.start(f"{suite.name}/{name} s{seed}", resolved.budget.max_calls) \
            if self.progress is not None else None
        result = run_resolved(
            resolved, suite, self.session, run_dir, tracker=self.tracker, run_name=f"{suite.name}/{name}/seed{seed}",
            parent_run_id=self.parent_run_id,
            tags={"suite": suite.name, "strategy": name, "seed": seed, "variant": self.variant},
            on_record=bar.on_step if bar is not None else lambda r: log.info(
                "%s/%s seed %s · step %d · task calls %d", suite.name, name, seed, r["step"], r["task_calls"]),
            on_call=bar.on_call if bar is not None else None, param_keys=self.param_keys,
            force=True)  # an experiment owns its output tree: running it again replaces its cells
        if bar is not None:
            bar.finish()
        if name != "baseline":
            with _PLOT_LOCK:  # matplotlib's pyplot is not thread-safe (parallel runs)
                plots.lineage_plot(result.lineage, run_dir.path / "lineage.png", f"{suite.name}/{name}: winner's lineage")
        calls = result.calls
        self.say(f"  {name} seed {seed}: test {result.before['test']['pass_rate']:.1%} → "
                 f"{result.after['test']['pass_rate']:.1%} · calls task {calls['task']} / optimizer "
                 f"{calls['optimizer']} · {result.stop_reason}"
                 + (f" · {result.budget['calls_left']} calls left" if result.budget.get("calls_left") is not None else ""))
        return Cell(suite.name, name, seed, result, self.variant)
