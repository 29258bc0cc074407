"""``evo eval SUITE``: score one prompt on a suite and print a report (or JSON)."""
from __future__ import annotations

from evo.cli.argtypes import non_negative_int, positive_int, unit_float

import json
import sys

from evo.cli.console import make_console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from evo.cli.common import (add_backend_args, add_genome_args, add_judge_arg, backend_from_args, genome_from_args,
                            judge_from_args)
from evo.cli.report import print_eval_report
from evo.errors import ConfigError, RunFailure
from evo.evaluation.evaluator import Evaluator
from evo.evaluation.repeats import repeat_stats
from evo.evaluation.feedback import build_feedback
from evo.tasks.loader import load_suite


def register(sub) -> None:
    p = sub.add_parser("eval", help="score a prompt on an eval suite",
                       description="Score a prompt on a suite (a YAML file or a built-in name: see `evo suites`).")
    p.add_argument("suite", help="suite YAML file or built-in suite name")
    add_genome_args(p)
    add_backend_args(p)
    add_judge_arg(p)
    p.add_argument("--split", default="all", help="train, val, test, a comma list, or all (default)")
    p.add_argument("--limit", type=positive_int, help="evaluate at most N examples")
    p.add_argument("--workers", type=positive_int, default=4, help="parallel calls (the local model runs 1 at a time)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed")
    p.add_argument("--json", action="store_true", help="print records and summary as JSON")
    p.add_argument("--show-failures", type=non_negative_int, default=8, metavar="N", help="failed examples to show")
    p.add_argument("--fail-under", type=unit_float, metavar="RATE", help="exit 1 if the pass rate is below RATE")
    p.add_argument("--max-errors", type=error_allowance, metavar="N|RATE",
                   help="exit 4 if more model calls than this failed: a count (e.g. 3) or a share below 1 "
                        "(e.g. 0.1); default: exit 4 only when every call failed")
    p.add_argument("--batch", action="store_true",
                   help="send all requests as one Anthropic Message Batch (half price; waits for it to end)")
    from evo.cli.argtypes import add_threads_flag

    add_threads_flag(p)
    p.add_argument("--samples", type=positive_int, default=1, metavar="K",
                   help="sample each example K times (set --temperature > 0 for different answers): reports "
                        "pass@K, pass^K (all K pass) and the flaky examples")
    p.set_defaults(func=run)


def run(args) -> int:
    suite = load_suite(args.suite)
    genome = genome_from_args(args, suite)
    splits = [] if args.split == "all" else [s.strip() for s in args.split.split(",") if s.strip()]
    try:
        examples = suite.split(*splits)
    except ValueError as exc:
        raise ConfigError("--split", str(exc)) from None
    if args.limit is not None:
        examples = examples[: max(0, args.limit)]
    if not examples:
        raise ConfigError(suite.source, f"no examples in split {args.split!r}")
    backend = backend_from_args(args)
    if suite.judge_checks():
        suite = suite.with_judge(judge_from_args(args, backend))
        examples = [suite.example(ex.id) for ex in examples]
    console = make_console(stderr=args.json)
    with Evaluator(backend, suite, workers=args.workers, seed=args.seed) as evaluator:
        if args.batch:
            console.print(f"sending {len(examples)} requests as one batch; waiting for it to end...")
            batch = evaluator.evaluate_batched(genome, examples)
        elif console.is_terminal and not args.json and len(examples) > 1:
            with Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                          console=console, transient=True) as progress:
                bar = progress.add_task("eval", total=len(examples) * args.samples)
                batch = evaluator.evaluate(genome, examples, samples=args.samples,
                                           on_result=lambda r: progress.advance(bar))
        else:
            batch = evaluator.evaluate(genome, examples, samples=args.samples)
    repeats = repeat_stats(batch) if args.samples > 1 else None
    feedback = build_feedback(batch)
    stats = backend.stats() if hasattr(backend, "stats") else None
    if args.json:
        out = {"suite": suite.name, "genome": genome.to_json(), **batch.to_json(), "feedback": feedback.to_json()}
        if stats is not None:
            out["cache"] = stats
        if repeats is not None:
            out["repeats"] = repeats
        json.dump(out, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        title = f"evo eval · suite {suite.name} · split {args.split} · prompt {genome.id}"
        print_eval_report(console, title, batch, feedback, stats, args.show_failures)
        if repeats is not None:
            flaky = repeats["flaky"]
            console.print(f"{args.samples} samples an example: pass@{repeats['k']} {repeats['pass_at_k']:.1%} · "
                          f"pass^{repeats['k']} {repeats['pass_all_k']:.1%} (all {repeats['k']} pass) · flaky "
                          f"{len(flaky)} of {repeats['examples']}" + (f": {', '.join(flaky[:10])}" if flaky else ""),
                          highlight=False)
    check_errors(batch, args.max_errors)
    if args.fail_under is not None and batch.pass_rate < args.fail_under:
        return 1
    return 0


def error_allowance(text: str) -> float:
    """``--max-errors``: a non-negative count (an integer) or a share in [0, 1)."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count or a share, got {text!r}") from None
    if not value >= 0 or value != value or value == float("inf") or (value >= 1 and not value.is_integer()):
        raise argparse.ArgumentTypeError(f"expected a count (0, 1, 2, ...) or a share in [0, 1), got {text!r}")
    return value


def check_errors(batch, max_errors: float | None) -> None:
    """``RunFailure`` (exit 4) when every call failed, or more than ``max_errors`` (count, or share if < 1)."""
    failed = batch.n_errors
    first = next((r.error for r in batch.records if r.error), None)
    if batch.n and failed == batch.n:
        raise RunFailure(f"every model call failed ({failed} of {batch.n}); first error: {first}")
    if max_errors is None:
        return
    allowed = max_errors * batch.n if max_errors < 1 else max_errors
    if failed > allowed:
        raise RunFailure(f"{failed} of {batch.n} model calls failed (more than --max-errors {max_errors:g}); "
                         f"first error: {first}")
