"""``evo compare CONFIG [--overlay F ...]``: baseline vs strategies at a matched budget, with stats and plots."""
from __future__ import annotations

from pathlib import Path

from evo.cli.argtypes import positive_int, seed_list
from evo.cli.console import make_console
from rich import box
from rich.table import Table


def register(sub) -> None:
    p = sub.add_parser("compare", help="compare strategies on held-out data (a config file)",
                       description="Run the baseline and every strategy of CONFIG on the same splits, seeds and "
                                   "budget; write tables, plots and MLflow runs.")
    p.add_argument("config", type=Path, help="experiment YAML (see configs/)")
    p.add_argument("--overlay", type=Path, action="append", default=[], help="overlay YAML deep-merged onto CONFIG")
    add_mlflow_flag(p)
    from evo.cli.argtypes import add_threads_flag

    add_threads_flag(p)
    add_dry_run_flag(p)
    add_json_flag(p)
    add_confirm_flag(p)
    p.add_argument("--max-calls", type=positive_int, help="the budget of each strategy x seed run (overrides the config's)")
    p.add_argument("--seeds", type=seed_list, help="comma-separated run seeds, e.g. 0,1,2 (overrides the config's)")
    p.add_argument("--output-dir", help="where results go (overrides the config's output_dir)")
    p.set_defaults(func=run)


def add_mlflow_flag(p, default=None) -> None:
    import argparse

    p.add_argument("--mlflow", action=argparse.BooleanOptionalAction, default=default,
                   help="log to MLflow (sqlite under results/ unless MLFLOW_TRACKING_URI is set)"
                        + (" (default: the config's tracking)" if default is None else
                           f" (default: {'on' if default else 'off'})"))


def add_json_flag(p) -> None:
    p.add_argument("--json", action="store_true",
                   help="print the result as JSON on stdout (progress and tables go to stderr)")


def emit_json(data) -> None:
    import json
    import sys

    sys.stdout.write(json.dumps(data, default=str) + "\n")


CONFIRM_ENV = "EVO_CONFIRM_ABOVE_USD"
CONFIRM_DEFAULT_USD = 1.0


def add_confirm_flag(p) -> None:
    p.add_argument("--yes", action="store_true",
                   help=f"do not ask before spending more than ${CONFIRM_DEFAULT_USD:g} (set the threshold with "
                        f"${CONFIRM_ENV}); only a terminal is asked")


def confirm_spend(console, est: dict, yes: bool, stdin=None) -> bool:
    """On a terminal, ask before a run whose estimate's upper bound is over ``$EVO_CONFIRM_ABOVE_USD``
    (default $1); ``--yes`` or a pipe skips the question (scripts cap spending with ``total_budget``).
    False: the user said no (nothing has run)."""
    import os
    import sys

    from evo.errors import ConfigError

    stdin = stdin or sys.stdin
    raw = os.environ.get(CONFIRM_ENV, "")
    try:
        limit = float(raw) if raw else CONFIRM_DEFAULT_USD
    except ValueError:
        raise ConfigError(CONFIRM_ENV, f"must be a number of USD, not {raw!r}") from None
    if yes or est["usd"] <= limit or not stdin.isatty():
        return True
    console.print(f"This may spend up to [bold]${est['usd']:.2f}[/] (upper bound). Continue? [y/N] ", end="")
    if stdin.readline().strip().lower() in ("y", "yes"):
        return True
    console.print("not confirmed: nothing was called or written")
    return False


def add_dry_run_flag(p) -> None:
    p.add_argument("--dry-run", action="store_true",
                   help="resolve the config and print it, the estimate and where results would go; call no model")


def print_dry_run(console, resolved: dict, where, json_estimate: dict | None = None) -> int:
    """The resolved config as YAML and where the results would be written; nothing runs. With
    ``json_estimate`` (``--json``) the same as one JSON object on stdout."""
    import yaml

    console.print(yaml.safe_dump(resolved, sort_keys=False).rstrip(), markup=False, highlight=False)
    console.print(f"dry run: nothing was called or written; results would go to {where}", markup=False)
    if json_estimate is not None:
        emit_json({"dry_run": True, "resolved": resolved, "estimate": json_estimate, "output": str(where)})
    return 0


def summary_table(rows: list[dict], title: str) -> Table:
    """Held-out results; the suite column is dropped (and named in the title) when there is one suite."""
    suites = list(dict.fromkeys(r["suite"] for r in rows))
    one = len(suites) == 1
    with_variant = any("variant" in r for r in rows)
    table = Table(title=f"{title} · suite {suites[0]}" if one else title, title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    cols = ([("variant", "left")] if with_variant else []) + ([] if one else [("suite", "left")]) + [
        ("strategy", "left"), ("test", "right"), ("95% CI", "right"), ("train", "right"), ("val", "right"),
        ("calls t/o", "right"), ("p", "right"), ("winner?", "right")]
    k = next((r["test_k"] for r in rows if "test_k" in r), None)
    if k is not None:  # final_samples > 1
        cols += [(f"pass@{k}", "right"), (f"pass^{k}", "right"), ("flaky", "right")]
    for col, justify in cols:
        table.add_column(col, justify=justify, no_wrap=True)
    for r in rows:
        p = f"{r['wilcoxon_p_vs_baseline']:.3f}" if "wilcoxon_p_vs_baseline" in r else "-"
        cells = [r["strategy"], f"{r['test_score']:.3f}", f"{r['ci95_low']:.2f}–{r['ci95_high']:.2f}",
                 f"{r['train_after']:.0%}", f"{r['val_after']:.0%}", f"{r['task_calls']}/{r['optimizer_calls']}", p,
                 r.get("winner_recommended", "-")]
        if k is not None:
            cells += [f"{r[key]:.0%}" if key in r else "-" for key in ("test_pass_at_k", "test_pass_all_k",
                                                                         "test_flake_rate")]
        table.add_row(*(([r["variant"]] if with_variant else []) + ([] if one else [r["suite"]]) + cells))
    return table


def print_estimate(console, est: dict, title: str) -> None:
    """An estimate (``experiments.estimate``) as a table: the search budget and the final scoring apart."""
    how = "tokens counted by the API" if est["tokens_counted"] else "~4 characters a token"
    table = Table(title=f"{title} (upper bound; {how})", title_justify="left")
    judged = est.get("judge_calls", 0) > 0
    for col in ("runs", "search calls (budget)", "of which optimizer", "final scoring calls",
                *(("judge calls (in both)",) if judged else ()), "tokens", "USD"):
        table.add_column(col, justify="right")
    usd = f"${est['usd']:.2f}" + ("" if est["priced"] else " (some models unpriced)")
    table.add_row(str(est["runs"]), f"{est['search_calls']:,}", f"~{est['optimizer_calls']:,}",
                  f"{est['final_calls']:,}", *((f"~{est['judge_calls']:,}",) if judged else ()),
                  f"{est['tokens']:,}", usd)
    console.print(table)


def experiment_estimate(resolved) -> dict:
    from experiments.estimate import anthropic_token_counter, estimate

    return estimate(resolved, anthropic_token_counter(resolved.task_model))


def print_locations(console, report) -> None:
    """Where a comparison's report, results and tracking are."""
    console.print(f"[bold]report: {report.dir}/report.html[/] (open it in a browser; works offline)")
    console.print(f"results: {report.dir}/summary.md, summary.csv, pairwise.csv · plots: {report.dir}/plots/ · "
                  f"resolved config: {report.dir}/resolved_config.yaml")
    if report.tracking_uri:
        console.print(f"MLflow: {mlflow_command()} ui --backend-store-uri '{report.tracking_uri}' --workers 1  "
                      "(then open http://127.0.0.1:5000)")


def mlflow_command() -> str:
    """The ``mlflow`` executable beside this Python (a venv's), as a path that works from any directory."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / "mlflow"
    return str(beside) if beside.exists() else (shutil.which("mlflow") or "mlflow")


def run(args) -> int:
    from experiments.config import load_experiment, resolve_experiment
    from evo.cli.progress import RunProgress
    from experiments.runner import run_experiment

    console = make_console(stderr=args.json)
    resolved = resolve_experiment(load_experiment(args.config, args.overlay, mlflow=args.mlflow,
                                                  overrides=overrides_from_args(args)))
    est = experiment_estimate(resolved)
    print_estimate(console, est, f"estimate for '{resolved.name}'")
    if args.dry_run:
        return print_dry_run(console, resolved.model_dump(mode="json"), resolved.out_dir, est if args.json else None)
    from experiments.estimate import check_total_budget

    check_total_budget(resolved, est)
    if not confirm_spend(console, est, args.yes):
        return 130
    report = run_experiment(resolved, progress=RunProgress(console),
                            source=" + ".join(str(p) for p in [args.config, *args.overlay]))
    console.print(summary_table(report.rows, "held-out test (p: Wilcoxon vs baseline; winner?: seeds whose winner "
                                             "beat the seed prompt significantly on val)"))
    for r in report.judged_pairs:
        console.print(f"judged ({r['suite']}): {r['a']} vs {r['b']}: {r['a']} wins {r['a_wins']}, ties {r['ties']}, "
                      f"{r['b']} wins {r['b_wins']} · win rate of {r['a']} {r['win_rate_a']:.2f} "
                      f"[{r['ci95_low']:.2f}, {r['ci95_high']:.2f}]" + (f" · {r['judge_errors']} judge errors (ties)"
                                                                       if r["judge_errors"] else ""), highlight=False)
    print_locations(console, report)
    if args.json:
        emit_json(report.to_json())
    return errors_exit(console, report)


def overrides_from_args(args) -> dict:
    """``--max-calls``, ``--seeds``, ``--output-dir`` as config keys (deep-merged onto the config)."""
    out: dict = {}
    if args.max_calls is not None:
        out["budget"] = {"max_calls": args.max_calls}
    if args.seeds is not None:
        out["seeds"] = args.seeds
    if args.output_dir is not None:
        out["output_dir"] = args.output_dir
    return out


def errors_exit(console, report) -> int:
    """Say how many calls failed; exit 1 when every call of some run failed (an unreachable server)."""
    failed = [r for r in report.rows if r["failed_task_calls"] or r["failed_optimizer_calls"]]
    for r in failed:
        console.print(f"[red]failed calls[/] {r.get('variant', '') + '/' if r.get('variant') else ''}{r['suite']}/"
                      f"{r['strategy']}: task model {r['failed_task_calls']}, optimizer {r['failed_optimizer_calls']} "
                      "(after the backends' retries; scored as failed examples)")
    dead = [c for c in report.cells if c.result.every_call_failed]
    if dead:
        console.print(f"[red]evo: every task-model call failed in {len(dead)} run(s); first error: "
                      f"{dead[0].result.first_error}")
        return 1
    return 0
