"""The public Python API (re-exported by ``import evo``)::

    import evo
    suite = evo.load_suite("arithmetic")
    result = evo.optimize(suite, {"strategy": {"kind": "evolutionary"}, "budget": {"max_calls": 300}})
    print(result.best_genome.instruction, result.after["test"]["pass_rate"])

- ``optimize(suite, config)``: one run; ``config`` is a ``RunSpec``, a mapping or a YAML/JSON path
  (a run directory's resolved config reproduces that run). Returns a ``RunResult``.
- ``resume(run_dir)``: continue a killed run with exactly its recorded resolved config.
- ``resolve_run(suite, config)``: what would run, with every default applied, without running it;
  ``optimize_resolved(resolved, suite)`` then runs exactly that.

``evo optimize`` / ``evo resume`` are thin wrappers over these functions; comparisons are one floor up,
in ``experiments`` (``experiments.compare``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

from evo.run.session import Session
from evo.config_base import validate_config
from evo.errors import ConfigError
from evo.run.execute import load_resolved, run_resolved
from evo.genome import PromptGenome
from evo.run.resolve import ResolvedRun, resolve
from evo.run.run_dir import RunDir, new_run_dir
from evo.run.loop import RunResult
from evo.run.spec import RunSpec, load_run_spec
from evo.tasks.loader import load_suite
from evo.tasks.suite import TaskSuite

DEFAULT_RUNS_ROOT = Path("results/runs")


def as_spec(config: RunSpec | Mapping | str | Path | None) -> RunSpec:
    if config is None:
        return RunSpec()
    if isinstance(config, RunSpec):
        return config
    if isinstance(config, Mapping):
        return validate_config(RunSpec, dict(config), "config")
    return load_run_spec(config)


def _suite_and_ref(suite: TaskSuite | str | Path | None, spec: RunSpec) -> tuple[TaskSuite, str]:
    if isinstance(suite, TaskSuite):
        return suite, suite.source or suite.name
    ref = str(suite) if suite is not None else spec.suite
    if not ref:
        raise ConfigError("run config", "no suite: pass one or set `suite:` in the config", "suite")
    return load_suite(ref), ref


def resolve_run(suite: TaskSuite | str | Path | None, config=None, *,
                env: Mapping[str, str] | None = None) -> tuple[ResolvedRun, TaskSuite]:
    """(resolved run, suite limited to its split limits). A suite given here overrides the config's."""
    spec = as_spec(config)
    suite_obj, ref = _suite_and_ref(suite, spec)
    resolved = resolve(spec.model_copy(update={"suite": ref}), env=env)
    return resolved, resolved.split_limits.apply(suite_obj)


def optimize(suite: TaskSuite | str | Path | None, config=None, *, run_dir: str | Path | None = None,
             backends: dict | None = None, tracker=None, on_step: Callable[[dict], None] | None = None,
             env: Mapping[str, str] | None = None, seed_genome: PromptGenome | None = None,
             extra_seeds: tuple = (), on_call: Callable[[str], None] | None = None, force: bool = False) -> RunResult:
    """Optimize the suite's seed prompt (or ``seed_genome``); the held-out test split is scored once, at
    the end. Writes a run directory (default ``results/runs/<suite>_<strategy>_<time>``); a directory that
    already holds a run is refused unless ``force``."""
    resolved, limited = resolve_run(suite, config, env=env)
    return optimize_resolved(resolved, limited, run_dir=run_dir, backends=backends, tracker=tracker,
                             on_step=on_step, seed_genome=seed_genome, extra_seeds=extra_seeds, on_call=on_call,
                             force=force)


def optimize_resolved(resolved: ResolvedRun, suite: TaskSuite, *, run_dir: str | Path | None = None,
                      backends: dict | None = None, tracker=None, on_step: Callable[[dict], None] | None = None,
                      seed_genome: PromptGenome | None = None, extra_seeds: tuple = (),
                      on_call: Callable[[str], None] | None = None, force: bool = False) -> RunResult:
    """``optimize`` for what ``resolve_run`` returned: ``suite`` is used as given (already limited)."""
    rd = RunDir(run_dir) if run_dir is not None else RunDir(new_run_dir(DEFAULT_RUNS_ROOT, suite.name,
                                                                         resolved.strategy.kind))
    with Session(resolved, backends=backends) as session:
        return run_resolved(resolved, suite, session, rd, tracker=tracker,
                            tags={"suite": suite.name, "strategy": resolved.strategy.kind},
                            seed_genome=seed_genome, extra_seeds=tuple(extra_seeds), on_record=on_step,
                            on_call=on_call, force=force)


def open_tracker(meta: dict):
    """Reopen the tracker recorded in a run directory's ``config.json`` (None when there was none)."""
    tracking = meta.get("tracking")
    if not tracking or not meta.get("tracker_run_id"):
        return None
    from evo.tracking import reopen_tracker

    return reopen_tracker(tracking)


def resume(run_dir: str | Path, *, backends: dict | None = None,
           on_step: Callable[[dict], None] | None = None, on_call: Callable[[str], None] | None = None) -> RunResult:
    """Continue the run in ``run_dir`` from its checkpoint, with exactly the resolved config it recorded
    (the environment is not consulted again: a key set since does not switch models)."""
    rd = RunDir.existing(Path(run_dir))
    if (rd.path / "result.json").exists():
        raise ConfigError(rd.path, "this run already finished (result.json exists)")
    if not (rd.path / "checkpoint.json").exists():
        raise ConfigError(rd.path, "no checkpoint yet: the run stopped before its first step; start it again")
    resolved, meta = load_resolved(rd.path)
    suite = resolved.split_limits.apply(load_suite(resolved.suite))
    seed_genome = PromptGenome.from_json(meta["seed_genome"])
    extra = tuple(PromptGenome.from_json(g) for g in meta.get("extra_seeds") or ())
    with Session(resolved, backends=backends) as session:
        return run_resolved(resolved, suite, session, rd, tracker=open_tracker(meta), seed_genome=seed_genome,
                            extra_seeds=extra, on_record=on_step, resume=True, on_call=on_call)
