"""``evo optimize SUITE --strategy iterative [--config F]``: optimize a prompt, show progress, summarize."""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from evo.cli.common import default_cache_path
from evo.llm.cache import ResponseCache
from evo.optimize_config import load_optimize_config
from evo.run_dir import RunDir, new_run_dir
from experiments.progress import step_line
from evo.tasks.loader import load_suite


def register(sub) -> None:
    p = sub.add_parser("optimize", help="optimize a prompt on a suite",
                       description="Optimize the suite's seed prompt; the held-out test split is scored once at the end.")
    p.add_argument("suite", help="suite YAML file or built-in suite name")
    p.add_argument("--strategy", choices=["iterative", "evolutionary", "hybrid"], help="strategy kind (overrides the config's)")
    p.add_argument("--config", type=Path, help="YAML: strategy, budget, task_model, optimizer, seed, workers")
    p.add_argument("--max-calls", type=int, help="LLM-call budget (task + optimizer)")
    p.add_argument("--seed", type=int, help="run seed")
    p.add_argument("--run-dir", type=Path, help="where to write the run record (default: results/runs/...)")
    p.add_argument("--no-cache", action="store_true", help="do not use the response cache")
    p.add_argument("--cache", type=Path, help="response cache file")
    p.add_argument("--mlflow", action="store_true",
                   help="log every step to MLflow (sqlite under results/ unless MLFLOW_TRACKING_URI is set)")
    p.set_defaults(func=run)


def _overrides(args) -> dict:
    o: dict = {}
    if args.strategy:
        o["strategy"] = {"kind": args.strategy}
    if args.max_calls:
        o["budget"] = {"max_calls": args.max_calls}
    if args.seed is not None:
        o["seed"] = args.seed
    return o


def run_with_progress(console: Console, parts, run_dir: RunDir, tracker, run_id, resume: bool = False):
    """Execute (or resume) a run, printing one line per step; close the tracker run at the end."""
    from experiments.single_run import execute

    status = "FAILED"
    try:
        with console.status("optimizing…"):
            result, _ = execute(parts, run_dir, tracker=tracker, tracker_run_id=run_id, resume=resume,
                                on_record=lambda r: console.print(step_line(r)))
        status = "FINISHED"
    finally:
        parts.evaluator.close()
        if tracker is not None and run_id:
            tracker.end_run(run_id, status)
    return result


def run(args) -> int:
    from experiments.factory import build_run

    suite = load_suite(args.suite)
    config = load_optimize_config(args.config, _overrides(args))
    cache = None if (args.no_cache or not config.cache) else ResponseCache(args.cache or default_cache_path())
    parts = build_run(config, suite, cache=cache)
    run_dir = RunDir(args.run_dir or new_run_dir(Path("results/runs"), suite.name, config.strategy.kind))
    tracker, run_id, tracking = None, None, None
    if args.mlflow:
        from experiments.tracking import MlflowTracker, default_tracking_uri

        tracking = {"uri": default_tracking_uri("results"), "experiment": f"optimize-{suite.name}"}
        tracker = MlflowTracker(tracking["uri"], tracking["experiment"], Path("results") / "mlartifacts")
        run_id = tracker.start_run(run_dir.path.name, tags={"suite": suite.name, "strategy": config.strategy.kind})
        tracker.log_params(run_id, {"config": config.model_dump_json()})
    run_dir.write_config({"config": config.model_dump(mode="json"), "suite": suite.source,
                          "seed_genome": parts.seed_genome.to_json(), "tracker_run_id": run_id, "tracking": tracking,
                          "cache_path": str(cache.path) if cache else None})
    console = Console()
    counts = suite.counts()
    console.print(f"[bold]evo optimize[/] · suite {suite.name} (train {counts['train']} / val {counts['val']} / "
                  f"test {counts['test']}) · strategy {config.strategy.kind} · budget {config.budget.max_calls} calls · "
                  f"run dir {run_dir.path}")
    result = run_with_progress(console, parts, run_dir, tracker, run_id)
    print_summary(console, result, cache, run_dir.path)
    front = getattr(parts.strategy, "pareto_front", None)
    if front and getattr(parts.strategy.config, "mode", "") == "pareto":
        print_pareto(console, front())
    return 0


def print_summary(console: Console, result, cache, path: Path) -> None:
    table = Table(title=f"{result.strategy}: before → after (pass rate)", title_justify="left")
    for col in ("split", "examples", "seed prompt", "best prompt"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for split in ("train", "val", "test"):
        b, a = result.before[split], result.after[split]
        table.add_row(split + (" (held out)" if split == "test" else ""), str(a["n"]), f"{b['pass_rate']:.1%}",
                      f"[bold]{a['pass_rate']:.1%}")
    console.print(table)
    usage = result.budget["usage"]
    tokens = sum(u["input_tokens"] + u["output_tokens"] for u in usage.values())
    usd = sum(u["usd"] for u in usage.values())
    line = (f"steps {len(result.steps)} · LLM calls: task {usage['task']['calls']}, optimizer "
            f"{usage['optimizer']['calls']} · tokens {tokens} · ${usd:.4f}")
    if cache is not None:
        line += f" · cache hit rate {cache.stats()['hit_rate']:.0%}"
    console.print(line)
    console.print(f"stopped: {result.stop_reason}")
    console.print(f"best prompt ({result.best_genome.id}): {result.best_genome.instruction!r}")
    if result.final_selection:
        picks = ", ".join(f"{c['id']} {c['val_score']:.3f}" for c in result.final_selection)
        console.print(f"final choice on val among: {picks}")
    console.print(f"run record: {path}")


def print_pareto(console: Console, front: list[dict]) -> None:
    table = Table(title="Pareto front (train)", title_justify="left")
    for col in ("genome", "quality", "latency ms", "tokens/ex", "robustness", "instruction"):
        table.add_column(col, overflow="fold")
    for p in sorted(front, key=lambda p: -p["quality"]):
        table.add_row(p["id"], f"{p['quality']:.3f}", f"{p['latency_ms']:.0f}", f"{p['tokens']:.1f}",
                      f"{p['robustness']:.2f}", p["instruction"][:60])
    console.print(table)
