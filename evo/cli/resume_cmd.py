"""``evo resume RUN_DIR``: continue a run (from ``evo optimize`` or ``evo compare``) from its checkpoint."""
from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from evo.errors import ConfigError


def register(sub) -> None:
    p = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint",
                       description="Continue a run killed at any point; with responses from the cache it ends as an "
                                   "uninterrupted run would, without duplicated MLflow steps.")
    p.add_argument("run_dir", type=Path, help="a run directory (holds config.json and checkpoint.json)")
    p.set_defaults(func=run)


def load_run_parts(run_dir: Path, backends: dict | None = None):
    """Rebuild the parts of the run recorded in ``run_dir`` (``backends`` may override, for tests)."""
    from evo.genome import PromptGenome
    from evo.llm.cache import ResponseCache
    from evo.optimize_config import OptimizeConfig
    from evo.tasks.loader import load_suite
    from experiments.compare import limit_suite
    from experiments.config import SplitLimits
    from experiments.factory import build_run, cached

    path = run_dir / "config.json"
    if not path.is_file():
        raise ConfigError(run_dir, "not a run directory: config.json is missing")
    meta = json.loads(path.read_text(encoding="utf-8"))
    config = OptimizeConfig.model_validate(meta["config"])
    suite = load_suite(meta["suite"])
    if meta.get("split_limits"):
        suite = limit_suite(suite, SplitLimits(**meta["split_limits"]))
    cache = ResponseCache(meta["cache_path"]) if meta.get("cache_path") else None
    backends = {k: cached(v, cache) for k, v in (backends or {}).items()}
    parts = build_run(config, suite, cache=cache, seed_genome=PromptGenome.from_json(meta["seed_genome"]),
                      task_backend=backends.get("task"), optimizer_backend=backends.get("optimizer"))
    return parts, meta, cache


def run(args) -> int:
    from evo.cli.optimize_cmd import print_summary, run_with_progress
    from evo.run_dir import RunDir

    run_dir = args.run_dir
    if (run_dir / "result.json").exists():
        raise ConfigError(run_dir, "this run already finished (result.json exists)")
    if not (run_dir / "checkpoint.json").exists():
        raise ConfigError(run_dir, "no checkpoint yet: the run stopped before its first step; start it again")
    parts, meta, cache = load_run_parts(run_dir)
    tracker, run_id = None, meta.get("tracker_run_id")
    if meta.get("tracking") and run_id:
        from experiments.tracking import MlflowTracker

        tracker = MlflowTracker(meta["tracking"]["uri"], meta["tracking"]["experiment"])
    console = Console()
    done = json.loads((run_dir / "checkpoint.json").read_text())["steps_done"]
    console.print(f"[bold]evo resume[/] · {run_dir} · continuing after step {done - 1}")
    result = run_with_progress(console, parts, RunDir(run_dir), tracker, run_id, resume=True)
    print_summary(console, result, cache, run_dir)
    return 0
