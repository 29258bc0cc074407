"""``run_comparison``: baseline + every configured strategy on the same splits, seeds and budget.

For each suite: the seed prompt (baseline) and each strategy x seed run under the matched budget;
every run is a child MLflow run (per-step metrics, artifacts) under one parent run per invocation.
Afterwards: held-out test scores with bootstrap 95% CIs over examples and seeds, paired tests vs the
baseline and between strategies, CSV + Markdown tables and PNG plots in ``<output_dir>/<name>/``.
"""
from __future__ import annotations

import csv
import itertools
import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evo.evaluation.evaluator import Evaluator
from evo.llm.cache import ResponseCache
from evo.optimize_config import OptimizeConfig
from evo.run_dir import RunDir, write_json
from evo.tasks.loader import load_suite
from evo.tasks.suite import TaskSuite
from experiments import plots
from experiments.config import ExperimentConfig
from experiments.factory import build_backends, build_run, seed_genome_of
from experiments.stats import bootstrap_ci, mcnemar_p, wilcoxon_p
from experiments.progress import step_line
from experiments.single_run import execute

log = logging.getLogger(__name__)


def git_sha() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def limit_suite(suite: TaskSuite, limits) -> TaskSuite:
    keep = []
    for split in ("train", "val", "test"):
        cap = getattr(limits, split)
        examples = suite.split(split)
        keep += examples[:cap] if cap else examples
    return suite.subset(keep)


@dataclass
class RunOutcome:
    suite: str
    strategy: str
    seed: int
    test_scores: list
    test_passed: list
    example_ids: list
    before: dict
    after: dict
    calls: dict
    steps: list
    best_genome: dict
    stop_reason: str
    points: list = field(default_factory=list)
    lineage: list = field(default_factory=list)


class Comparison:
    def __init__(self, config: ExperimentConfig, tracker, *, console=None, backends=None, evaluator_factory=None,
                 source: str = ""):
        self.config = config
        self.tracker = tracker
        self.console = console
        self.out = Path(config.output_dir) / config.name
        self.out.mkdir(parents=True, exist_ok=True)
        self.backends = backends or {}
        self.evaluator_factory = evaluator_factory
        self.source = source
        self.outcomes: list[RunOutcome] = []
        self.cache = ResponseCache(self.out / "cache.sqlite") if config.cache else None

    def tracking_info(self) -> dict | None:
        uri = getattr(self.tracker, "uri", None)
        return {"uri": uri, "experiment": self.config.tracking.experiment or self.config.name} if uri else None

    def say(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text)
        log.info(text)

    # ---- backends and evaluators ---------------------------------------------------------------
    def _task_backend(self):
        return self._backends()[0]

    def _optimizer_backend(self):
        return self._backends()[1]

    def _backends(self) -> tuple:
        """Built once per experiment and shared by every run (one loaded local model)."""
        if "task" not in self.backends or "optimizer" not in self.backends:
            self.backends["task"], self.backends["optimizer"] = build_backends(
                self.config.task_model, self.config.optimizer, self.cache,
                self.backends.get("task"), self.backends.get("optimizer"))
        return self.backends["task"], self.backends["optimizer"]

    def _evaluator(self, suite: TaskSuite, seed: int):
        if self.evaluator_factory is not None:
            return self.evaluator_factory(suite, seed)
        workers = getattr(self.config.evaluator, "workers", 1)
        return Evaluator(self._task_backend(), suite, workers=workers, seed=seed)

    # ---- the experiment --------------------------------------------------------------------------
    def run(self) -> dict:
        cfg = self.config
        parent = self.tracker.start_run(f"{cfg.name}", tags={
            "git_sha": git_sha(), "config_sha256": cfg.sha256(), "kind": "comparison", "config_source": self.source})
        self.tracker.log_params(parent, {"suites": ",".join(cfg.suites), "strategies": ",".join(cfg.strategies),
                                         "seeds": ",".join(map(str, cfg.seeds)), "budget": cfg.budget.model_dump_json(),
                                         "task_model": cfg.task_model.model_dump_json()})
        self.tracker.log_dict(parent, cfg.model_dump(mode="json"), "config/resolved_config.json")
        status = "FAILED"
        try:
            for suite_name in cfg.suites:
                suite = limit_suite(load_suite(suite_name), cfg.split_limits)
                self._run_suite(suite, parent)
            report = self.report(parent)
            status = "FINISHED"
            return report
        finally:
            self.tracker.end_run(parent, status)

    def _run_suite(self, suite: TaskSuite, parent: str) -> None:
        seed_genome = seed_genome_of(suite)
        counts = suite.counts()
        self.say(f"[bold]suite {suite.name}[/]: train {counts['train']} · val {counts['val']} · test {counts['test']}")
        if self.config.baseline:
            for seed in self.config.seeds:
                evaluator = self._evaluator(suite, seed)
                batches = {s: evaluator.evaluate(seed_genome, suite.split(s)) for s in ("train", "val", "test")}
                summary = {s: {"pass_rate": b.pass_rate, "mean_score": b.mean_score, "n": b.n} for s, b in batches.items()}
                test = batches["test"]
                self.outcomes.append(RunOutcome(
                    suite.name, "baseline", seed, [r.score for r in test.records], [r.passed for r in test.records],
                    [r.example_id for r in test.records], summary, summary, {"task": 0, "optimizer": 0}, [],
                    seed_genome.to_json(), "seed prompt, not optimized"))
                self.say(f"  baseline seed {seed}: test {test.pass_rate:.1%}")
        for (name, strat_cfg), seed in itertools.product(self.config.strategies.items(), self.config.seeds):
            self._run_strategy(suite, name, strat_cfg, seed, seed_genome, parent)

    def _run_strategy(self, suite, name, strat_cfg, seed, seed_genome, parent) -> None:
        cfg = self.config
        opt_config = OptimizeConfig(strategy=strat_cfg, budget=cfg.budget, task_model=cfg.task_model,
                                    optimizer=cfg.optimizer, seed=seed, workers=getattr(cfg.evaluator, "workers", 1),
                                    cache=cfg.cache)
        evaluator = self._evaluator(suite, seed)
        parts = build_run(opt_config, suite, seed_genome=seed_genome, task_backend=self._task_backend(),
                          optimizer_backend=self._optimizer_backend(), evaluator=evaluator)
        run_dir = RunDir(self.out / "runs" / suite.name / name / f"seed{seed}")
        child = self.tracker.start_run(f"{suite.name}/{name}/seed{seed}", parent_id=parent, tags={
            "suite": suite.name, "strategy": name, "strategy_kind": strat_cfg.kind, "seed": seed})
        self.tracker.log_params(child, {"strategy_config": strat_cfg.model_dump_json(), "seed": seed,
                                        "budget": cfg.budget.model_dump_json()})
        run_dir.write_config({"config": opt_config.model_dump(mode="json"), "suite": suite.source,
                              "split_limits": cfg.split_limits.model_dump(), "seed_genome": seed_genome.to_json(),
                              "tracker_run_id": child, "tracking": self.tracking_info(),
                              "cache_path": str(self.cache.path) if self.cache else None})
        populations = []

        def on_record(record):
            self.say(f"    [dim]{name} s{seed}[/] " + step_line(record))
            pop = getattr(parts.strategy, "population", None)
            if pop:
                populations.append({"step": record["step"], "population": [
                    {"id": i.genome.id, "operator": i.genome.operator, "instruction": i.genome.instruction,
                     **i.objectives} for i in pop]})

        try:
            result, loop = execute(parts, run_dir, tracker=self.tracker, tracker_run_id=child, on_record=on_record)
        except BaseException:
            self.tracker.end_run(child, "FAILED")
            raise
        test = result.final_batches["after"]["test"]
        usage = result.budget["usage"]
        outcome = RunOutcome(
            suite.name, name, seed, [r.score for r in test.records], [r.passed for r in test.records],
            [r.example_id for r in test.records], result.before, result.after,
            {"task": usage["task"]["calls"], "optimizer": usage["optimizer"]["calls"],
             "tokens": sum(u["input_tokens"] + u["output_tokens"] for u in usage.values()),
             "usd": sum(u["usd"] for u in usage.values())},
            result.steps, result.best_genome.to_json(), result.stop_reason,
            plots.pareto_flags(loop.evaluated_points()), loop.lineage(result.best_genome))
        self.outcomes.append(outcome)
        final = {f"final/{label}/{s}_score": v["mean_score"] for label, d in (("before", result.before),
                 ("after", result.after)) for s, v in d.items()}
        self.tracker.log_metrics(child, final, len(result.steps))
        self.tracker.log_dict(child, result.best_genome.to_json(), "best_genome.json")
        self.tracker.log_dict(child, getattr(parts.strategy, "records", []), "feedback_reports.json")
        self.tracker.log_dict(child, populations, "populations.json")
        self.tracker.log_dict(child, outcome.lineage, "lineage.json")
        lineage_png = plots.lineage_plot(outcome.lineage, run_dir.path / "lineage.png", f"{suite.name}/{name}: winner's lineage")
        self.tracker.log_file(child, lineage_png)
        self.tracker.set_tags(child, {"stop_reason": result.stop_reason, "best_genome_id": result.best_genome.id})
        self.tracker.end_run(child)
        self.say(f"  {name} seed {seed}: test {result.before['test']['pass_rate']:.1%} → "
                 f"{result.after['test']['pass_rate']:.1%} · calls task {usage['task']['calls']} / optimizer "
                 f"{usage['optimizer']['calls']} · {result.stop_reason}")

    # ---- report ------------------------------------------------------------------------------------
    def report(self, parent: str) -> dict:
        rows, pairwise = [], []
        plot_dir = self.out / "plots"
        plot_dir.mkdir(exist_ok=True)
        for suite in dict.fromkeys(o.suite for o in self.outcomes):
            by_strategy: dict[str, list[RunOutcome]] = {}
            for o in self.outcomes:
                if o.suite == suite:
                    by_strategy.setdefault(o.strategy, []).append(o)
            matrices = {name: (np.array([o.test_scores for o in runs]), np.array([o.test_passed for o in runs]))
                        for name, runs in by_strategy.items()}
            base = matrices.get("baseline")
            for name, runs in by_strategy.items():
                scores, passed = matrices[name]
                mean, lo, hi = bootstrap_ci(scores, self.config.bootstrap_resamples, seed=0)
                row = {"suite": suite, "strategy": name, "seeds": len(runs), "test_n": scores.shape[1],
                       "test_score": round(mean, 4), "ci95_low": round(lo, 4), "ci95_high": round(hi, 4),
                       "test_pass_rate": round(float(passed.mean()), 4),
                       "train_before": round(float(np.mean([r.before["train"]["pass_rate"] for r in runs])), 4),
                       "train_after": round(float(np.mean([r.after["train"]["pass_rate"] for r in runs])), 4),
                       "val_after": round(float(np.mean([r.after["val"]["pass_rate"] for r in runs])), 4),
                       "task_calls": int(np.mean([r.calls["task"] for r in runs])),
                       "optimizer_calls": int(np.mean([r.calls["optimizer"] for r in runs]))}
                if base is not None and name != "baseline":
                    row["wilcoxon_p_vs_baseline"] = round(wilcoxon_p(scores.mean(0), base[0].mean(0)), 4)
                    row["mcnemar_p_vs_baseline"] = round(mcnemar_p(passed[0], base[1][0]), 4)
                rows.append(row)
            names = [n for n in by_strategy if n != "baseline"]
            for a, b in itertools.combinations(names, 2):
                pairwise.append({"suite": suite, "a": a, "b": b,
                                 "mean_diff": round(float(matrices[a][0].mean() - matrices[b][0].mean()), 4),
                                 "wilcoxon_p": round(wilcoxon_p(matrices[a][0].mean(0), matrices[b][0].mean(0)), 4),
                                 "mcnemar_p": round(mcnemar_p(matrices[a][1][0], matrices[b][1][0]), 4)})
            curves = {f"{o.strategy} s{o.seed}": [(s["task_calls"] + s["optimizer_calls"], s["best_train_score"])
                                                  for s in o.steps if s.get("best_train_score") is not None]
                      for o in self.outcomes if o.suite == suite and o.strategy != "baseline"}
            plots.progress_plot(curves, plot_dir / f"{suite}_progress.png", f"{suite}: best train score vs LLM calls")
            val_curves = {f"{o.strategy} s{o.seed}": [(s["task_calls"] + s["optimizer_calls"], s["best_val_score"])
                                                      for s in o.steps if s.get("best_val_score") is not None]
                          for o in self.outcomes if o.suite == suite and o.strategy != "baseline"}
            plots.progress_plot(val_curves, plot_dir / f"{suite}_progress_val.png",
                                f"{suite}: val score of the current best vs LLM calls", ylabel="val score of the best")
            points = {o.strategy: o.points for o in self.outcomes if o.suite == suite and o.seed == self.config.seeds[0]
                      and o.points}
            plots.pareto_plot(points, plot_dir / f"{suite}_pareto.png", f"{suite}: quality vs tokens (train)")
            winner = max((o for o in self.outcomes if o.suite == suite and o.strategy != "baseline"),
                         key=lambda o: float(np.mean(o.test_scores)), default=None)
            if winner is not None:
                plots.lineage_plot(winner.lineage, plot_dir / f"{suite}_winner_lineage.png",
                                   f"{suite}: lineage of the best run ({winner.strategy}, seed {winner.seed})")
        self._write_tables(rows, pairwise)
        for png in sorted(plot_dir.glob("*.png")):
            self.tracker.log_file(parent, png, "plots")
        for name in ("summary.csv", "summary.md", "pairwise.csv"):
            self.tracker.log_file(parent, self.out / name, "report")
        return {"rows": rows, "pairwise": pairwise, "dir": str(self.out)}

    def _write_tables(self, rows: list[dict], pairwise: list[dict]) -> None:
        cols = list(dict.fromkeys(k for r in rows for k in r))
        with open(self.out / "summary.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
        with open(self.out / "pairwise.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["suite", "a", "b", "mean_diff", "wilcoxon_p", "mcnemar_p"])
            w.writeheader()
            w.writerows(pairwise)
        md = ["| suite | strategy | test score [95% CI] | test pass | train before → after | val after | "
              "calls task/opt | p vs baseline (Wilcoxon / McNemar) |", "|" + "---|" * 8]
        for r in rows:
            p = (f"{r['wilcoxon_p_vs_baseline']:.3f} / {r['mcnemar_p_vs_baseline']:.3f}"
                 if "wilcoxon_p_vs_baseline" in r else "-")
            md.append(f"| {r['suite']} | {r['strategy']} | {r['test_score']:.3f} [{r['ci95_low']:.3f}, "
                      f"{r['ci95_high']:.3f}] | {r['test_pass_rate']:.1%} | {r['train_before']:.1%} → "
                      f"{r['train_after']:.1%} | {r['val_after']:.1%} | {r['task_calls']}/{r['optimizer_calls']} | {p} |")
        (self.out / "summary.md").write_text("\n".join(md) + "\n", encoding="utf-8")
        write_json(self.out / "summary.json", {"rows": rows, "pairwise": pairwise})
