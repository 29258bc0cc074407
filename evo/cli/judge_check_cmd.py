"""``evo judge-check SUITE``: measure a suite's llm_judge checks against human labels before optimizing
against them (accuracy, Cohen's kappa, confusion table)."""
from __future__ import annotations

import json
import sys

from rich.table import Table

from evo.cli.argtypes import positive_int
from evo.cli.common import add_backend_args, add_judge_arg, backend_from_args, judge_from_args
from evo.cli.console import make_console
from evo.errors import ConfigError
from evo.tasks.loader import load_suite


def register(sub) -> None:
    p = sub.add_parser("judge-check", help="measure a suite's LLM judge against human labels",
                       description="Score every labelled output of a suite (each task's judge_labels_file) with "
                                   "its llm_judge checks and report the agreement with the labels: accuracy, "
                                   "Cohen's kappa and the confusion table. Run it before optimizing against a judge.")
    p.add_argument("suite", help="suite YAML file or built-in suite name")
    add_backend_args(p)
    add_judge_arg(p)
    p.add_argument("--workers", type=positive_int, default=4, help="labelled outputs judged at once")
    p.add_argument("--json", action="store_true", help="print the rows and summaries as JSON")
    p.set_defaults(func=run)


def _fmt(value, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1%}" if pct else f"{value:.2f}"


def run(args) -> int:
    from evo.evaluation.judge_calibration import calibrate

    suite = load_suite(args.suite)
    if not suite.judge_checks():
        raise ConfigError(suite.source, "the suite has no llm_judge check to calibrate")
    if not any(t.judge_labels for t in suite.tasks):
        raise ConfigError(suite.source, "no task has a judge_labels_file (JSONL rows: input, output, label: "
                          "pass|fail or a score)", "judge_labels_file")
    judge = judge_from_args(args, backend_from_args(args))
    report = calibrate(suite.with_judge(judge), workers=args.workers)
    if hasattr(judge, "flush"):
        judge.flush()
    if args.json:
        json.dump(report, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    console = make_console()
    table = Table(title=f"judge vs human labels · suite {suite.name} · judge {getattr(judge, 'fingerprint', '?')}",
                  title_justify="left")
    for col in ("task", "labelled", "accuracy", "Cohen's kappa", "judge pass / human pass", "both pass",
                "judge pass, human fail", "judge fail, human pass", "both fail", "judge errors"):
        table.add_column(col, justify="right")
    rows = list(report["tasks"].items()) + ([("all", report["overall"])] if len(report["tasks"]) > 1 else [])
    for name, s in rows:
        c = s["confusion"]
        table.add_row(name, str(s["n"]), _fmt(s["accuracy"], True), _fmt(s["kappa"]),
                      f"{_fmt(s['judge_pass_rate'], True)} / {_fmt(s['human_pass_rate'], True)}",
                      str(c["tp"]), str(c["fp"]), str(c["fn"]), str(c["tn"]), str(s["errors"]))
    console.print(table)
    overall = report["overall"]
    kappa = overall["kappa"]
    verdict = ("no better than chance: do not optimize against this judge" if kappa is None or kappa < 0.2 else
               "weak agreement: read the disagreements before trusting it" if kappa < 0.6 else
               "substantial agreement")
    console.print(f"kappa {_fmt(kappa)}: {verdict}" + (f" (MAE on score labels {overall['score_mae']:.2f})"
                                                         if overall["score_mae"] is not None else ""), highlight=False)
    for row in [r for r in report["rows"] if r["judge_pass"] != r["human_pass"]][:5]:
        console.print(f"  disagrees: {row['id']} human {row['label']} · judge {row['judge_score']:.2f} · "
                      f"{row['error'] or row['message']}"[:200], highlight=False, markup=False)
    return 0
