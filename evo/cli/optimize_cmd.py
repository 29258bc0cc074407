"""``evo optimize [SUITE] [--strategy K] [--config F]``: optimize a prompt, show progress, summarize."""
from __future__ import annotations

from pathlib import Path

from evo.cli.argtypes import positive_int, non_negative_int
from evo.cli.console import make_console
from rich.console import Console
from rich.table import Table

from evo.cli.progress import RunProgress
from evo.strategies.registry import STRATEGIES


def register(sub) -> None:
    p = sub.add_parser("optimize", help="optimize a prompt on a suite",
                       description="Optimize the suite's seed prompt; the held-out test split is scored once at the end. "
                                   "A run directory's config.json (its resolved config) given as --config reproduces it.")
    p.add_argument("suite", nargs="?", help="suite YAML file or built-in suite name (default: the config's `suite`)")
    p.add_argument("--strategy", choices=list(STRATEGIES), help="strategy kind (overrides the config's)")
    p.add_argument("--config", type=Path,
                   help="YAML/JSON run config: suite, strategy, budget, task_model, optimizer, evaluator, cache, "
                        "split_limits, seed")
    p.add_argument("--max-calls", type=int, help="LLM-call budget, task + optimizer (default 600)")
    p.add_argument("--seed", type=non_negative_int, help="run seed (default 0)")
    p.add_argument("--final-samples", type=positive_int, metavar="K",
                   help="score seed and winner K times per test example at the end: pass@K, pass^K, flaky examples")
    p.add_argument("--run-dir", type=Path, help="where to write the run record (default: results/runs/...)")
    p.add_argument("--force", action="store_true",
                   help="overwrite a run directory that already holds a run (refused otherwise)")
    p.add_argument("--no-cache", action="store_true", help="do not use the response cache")
    p.add_argument("--cache", type=Path, help="response cache file (default: $EVO_CACHE or .evo/cache.sqlite)")
    from evo.cli.argtypes import add_threads_flag
    from evo.cli.compare_cmd import add_dry_run_flag, add_json_flag, add_mlflow_flag

    add_mlflow_flag(p, default=False)
    add_threads_flag(p)
    add_dry_run_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def overrides_from_args(args) -> dict:
    o: dict = {}
    if args.strategy:
        o["strategy"] = {"kind": args.strategy}
    if args.max_calls is not None:
        o["budget"] = {"max_calls": args.max_calls}
    if args.seed is not None:
        o["seed"] = args.seed
    if args.final_samples is not None:
        o["final_samples"] = args.final_samples
    if args.no_cache:
        o["cache"] = False
    elif args.cache is not None:
        o["cache"] = str(args.cache)
    return o


def run(args) -> int:
    from evo.api import optimize_resolved, resolve_run
    from evo.run.run_dir import RunDir, new_run_dir
    from evo.run.spec import load_run_spec

    spec = load_run_spec(args.config, overrides_from_args(args))
    resolved, suite = resolve_run(args.suite, spec)
    if args.dry_run:
        from evo.cli.compare_cmd import print_dry_run, print_estimate
        from experiments.estimate import anthropic_token_counter, estimate_run

        console = make_console(stderr=args.json)
        est = estimate_run(resolved, anthropic_token_counter(resolved.task_model))
        print_estimate(console, est, f"estimate for {suite.name}/{resolved.strategy.kind}")
        where = args.run_dir or Path("results/runs") / f"{suite.name}_{resolved.strategy.kind}_<time>"
        return print_dry_run(console, resolved.model_dump(mode="json"), where, est if args.json else None)
    run_dir = RunDir(args.run_dir or new_run_dir(Path("results/runs"), suite.name, resolved.strategy.kind))
    args.run_dir_in_use = run_dir.path  # named by the interrupt message
    if not args.force:
        run_dir.refuse_reuse()  # before the banner: the same check runs again under the lock
    tracker = None
    if args.mlflow:
        from evo.tracking import MlflowConfig, build_tracker

        tracker = build_tracker(MlflowConfig(), "results", f"optimize-{suite.name}")
    console = make_console(stderr=args.json)
    counts = suite.counts()
    console.print(f"[bold]evo optimize[/] · suite {suite.name} (train {counts['train']} / val {counts['val']} / "
                  f"test {counts['test']}) · strategy {resolved.strategy.kind} · optimizer {resolved.optimizer.kind} · "
                  f"budget {resolved.budget.max_calls} calls · run dir {run_dir.path}")
    with RunProgress(console) as progress:
        progress.start(f"{suite.name}/{resolved.strategy.kind}", resolved.budget.max_calls)
        result = optimize_resolved(resolved, suite, run_dir=run_dir.path, tracker=tracker,
                                   on_step=progress.on_step, on_call=progress.on_call, force=args.force)
        progress.finish()
    print_summary(console, result, run_dir.path)
    if args.json:
        from evo.cli.compare_cmd import emit_json

        emit_json({"run_dir": str(run_dir.path), **result.to_json()})
    return exit_if_every_call_failed(result)


def exit_if_every_call_failed(result) -> int:
    """An unreachable or broken task model must not look like a finished run: a one-line error."""
    if result.every_call_failed:
        from evo.errors import RunFailure

        raise RunFailure(f"every task-model call of the run failed; first error: {result.first_error}")
    return 0


def print_summary(console: Console, result, path: Path) -> None:
    table = Table(title=f"{result.strategy}: before → after (pass rate)", title_justify="left")
    for col in ("split", "examples", "seed prompt", "best prompt"):
        table.add_column(col, justify="right" if col != "split" else "left")
    for split in ("train", "val", "test"):
        b, a = result.before[split], result.after[split]
        before, after = (f"{b['pass_rate']:.1%}", f"[bold]{a['pass_rate']:.1%}") if a["n"] else ("-", "-")
        table.add_row(split + (" (held out)" if split == "test" else ""), str(a["n"]), before, after)
    console.print(table)
    empty = [split for split in ("val", "test") if not result.after[split]["n"]]
    if empty:
        console.print(f"[yellow]warning: no {' or '.join(empty)} examples: this run says nothing about how the "
                      "prompt holds on examples it was not optimized on[/]")
    calls, budget = result.calls, result.budget
    total = sum(u["calls"] for u in budget["usage"].values())
    cached = sum(u["cached_calls"] for u in budget["usage"].values())
    judge_calls = budget["usage"].get("judge", {}).get("calls", 0)
    line = (f"steps {len(result.steps)} · LLM calls: task {calls['task']}, optimizer {calls['optimizer']}"
            + (f", judge {judge_calls}" if judge_calls else "") + f" · tokens {calls['tokens']} · ${calls['usd']:.4f}")
    if total:
        line += f" · cache hits {cached / total:.0%}"
    if budget["failed_task_calls"] or calls["optimizer_errors"]:
        line += (f" · [red]failed calls: task model {budget['failed_task_calls']}, optimizer "
                 f"{calls['optimizer_errors']}[/] (scored as failed examples)")
    console.print(line)
    left = budget.get("calls_left")
    console.print(f"stopped: {result.stop_reason}" + (f" · budget left: {left} calls" if left is not None else ""))
    console.print(f"best prompt ({result.best_genome.id}): {result.best_genome.instruction!r}")
    if result.final_selection:
        picks = ", ".join(f"{c['id']} {c['val_score']:.3f}" for c in result.final_selection)
        console.print(f"final choice on val among: {picks}")
    report = result.strategy_report
    if report.get("mode") == "pareto" and report.get("pareto_front"):
        print_pareto(console, report["pareto_front"])
    for label, stats in result.repeats.items():  # final_samples > 1
        k = stats["k"]
        console.print(f"{'seed' if label == 'before' else 'winner'} on test, {k} samples an example: pass@{k} "
                      f"{stats['pass_at_k']:.1%} · pass^{k} {stats['pass_all_k']:.1%} · flaky {len(stats['flaky'])} of "
                      f"{stats['examples']}", highlight=False)
    print_recommendation(console, result)
    console.print(f"run record: {path}")


def print_recommendation(console: Console, result) -> None:
    """The run's answer to "keep the seed or use the winner?" (``evo.run.recommend``), last and plain."""
    rec = result.recommendation
    if not rec:
        return
    style = "green" if rec["use_winner"] else "yellow"
    console.print(f"[bold {style}]recommendation:[/] {rec['reason']}", highlight=False)
    if not rec["use_winner"] and result.best_genome.id != result.seed_genome.id:
        console.print("  (the winner stays in best_genome.json; `evo bandit deploy` can still try it beside the "
                      "seed on live traffic, where the router's staged rollout decides)", highlight=False)


def print_pareto(console: Console, front: list[dict]) -> None:
    table = Table(title="Pareto front (train)", title_justify="left")
    for col in ("genome", "quality", "latency ms", "tokens/ex", "robustness", "instruction"):
        table.add_column(col, overflow="fold")
    for p in sorted(front, key=lambda p: -p["quality"]):
        table.add_row(p["id"], f"{p['quality']:.3f}", f"{p['latency_ms']:.0f}", f"{p['tokens']:.1f}",
                      f"{p['robustness']:.2f}", p["instruction"][:60])
    console.print(table)
