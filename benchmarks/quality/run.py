"""Side-by-side optimization quality benchmark (``make bench-quality``).

For each task of ``benchmarks/quality/tasks.py`` and each seed, at the same task-model call budget,
with the same splits, seed prompt and metric (the task's own checks), on the same model (the embedded
SmolLM2-135M; in-process for the framework, served by llama-cpp-python's OpenAI-compatible server on
127.0.0.1 for DSPy):

- ``seed``: the seed prompt "Answer the question.";
- ``reference``: a fixed grid of obvious hand-written prompts (answer-only constraint, the task's
  one-line description, 3 demos as chat turns, description + 3 demos, chain of thought), the one best
  on val reported (``reference_best_test`` in the JSON: the grid's best test score, an optimistic bar);
- ``iterative`` / ``evolutionary`` / ``hybrid``: ``evo.optimize`` with the embedded model as task and
  optimizer model, ``max_task_calls`` = the budget;
- fair anchors (default): ``miprov2-plain`` / ``gepa-plain`` (DSPy's MIPROv2 and GEPA with a plain-chat
  adapter that renders the program as the framework renders a genome and reads the whole reply as the
  answer) and ``gepa-standalone`` (``gepa.optimize`` with its default adapter and the task's checks as
  evaluator); each cell also shows the anchor's unoptimized program's score ("anchor's seed score"),
  which should match our seed row;
- ``gepa`` / ``miprov2``: DSPy's optimizers with its default chat adapter (field markers), kept for the
  record: the 135M model rarely answers in that format, so these rows measure the format.
All anchors run from ``dspy_runner.py`` in their own virtualenv, created here on first use
(``~/.cache/evo-bandit/venv-dspy-<version>``): a benchmark dependency, not a runtime one.

Every finished run is appended to ``results/quality/runs.jsonl`` at once (a re-run skips what is
there, so an interrupted benchmark continues; a failed run is logged and tried again);
``results/quality/table.md`` (``table_<calls>.md`` for another ``--calls``) is rewritten after each
run from the runs at that budget: held-out test score (mean over seeds) with a 95% bootstrap CI over (seed, example) pairs, the
gain over the seed, task-model calls and, for the framework, distinct candidates evaluated.

    python benchmarks/quality/run.py [--tasks arithmetic dates] [--seeds 0 1] [--calls 300]
                                     [--rows seed reference iterative evolutionary hybrid miprov2-plain gepa-plain gepa-standalone]
                                     [--table-only]   # rewrite the table from the logged runs
                                     [--ablation NAME JSON]   # our rows as <row>+NAME with a config fragment
                                     [--model gemma3-270m]    # every row on the second local model
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks.quality.tasks import OPTIONAL, TASKS, load_task, score_answer  # noqa: E402

DSPY_VERSION = "3.4.1"
DSPY_VENV = Path.home() / ".cache" / "evo-bandit" / f"venv-dspy-{DSPY_VERSION}"
OURS = ("iterative", "evolutionary", "hybrid")
# the same strategies with minibatch screening and racing off: the "before" of sample efficiency
UNSCREENED = tuple(f"{k}-unscreened" for k in OURS)
CHAT_ANCHORS = ("gepa", "miprov2")  # DSPy's default chat adapter: kept for the record
FAIR_ANCHORS = ("miprov2-plain", "gepa-plain", "gepa-standalone")  # plain chat, as the framework renders
DSPY = CHAT_ANCHORS + FAIR_ANCHORS
ROWS = ("seed", "reference") + OURS + UNSCREENED + DSPY
OUT = REPO / "results" / "quality"


# ---- DSPy side -------------------------------------------------------------------------------------
DSPY_REQUIREMENTS = (f"dspy[optuna]=={DSPY_VERSION}", "numpy", "pyyaml")  # MIPROv2 needs optuna


def ensure_dspy_venv() -> Path:
    """The DSPy virtualenv's python (created once: dspy pinned, plus what ``evo.tasks`` imports; the
    requirements are installed again when they change)."""
    python = DSPY_VENV / "bin" / "python"
    stamp = DSPY_VENV / ".installed"
    wanted = "\n".join(DSPY_REQUIREMENTS)
    if not stamp.exists() or stamp.read_text() != wanted:
        print(f"preparing the DSPy virtualenv {DSPY_VENV} (dspy=={DSPY_VERSION}, about a minute)...", flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(DSPY_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *DSPY_REQUIREMENTS], check=True)
        stamp.write_text(wanted)
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ModelServer:
    """llama-cpp-python's OpenAI-compatible server on 127.0.0.1 serving the embedded GGUF."""

    def __init__(self, out: Path, n_ctx: int = 4096, threads: int | None = None, model_path: Path | None = None):
        from evo.llm.cpu_share import CpuShare, threads_for, usable_cpus
        from evo.llm.local import CHAT_FORMATS, default_model_path

        self.port = free_port()
        out.mkdir(parents=True, exist_ok=True)
        self.log_path = out / "server.log"
        self.log = open(self.log_path, "ab")
        if threads is None:  # the cores other processes leave free now (a fixed count for the server's life)
            share = CpuShare(0.5)
            time.sleep(0.6)
            threads = threads_for(share.free_cores(), max(1, min(4, len(usable_cpus()))))
        model_path = Path(model_path or default_model_path())
        chat_format = CHAT_FORMATS.get(model_path.name)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from evo.llm.local import serve_main; serve_main()", "--model", str(model_path), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--model_alias", "smollm2"]
            + (["--chat_format", chat_format] if chat_format else []),
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the model server exited ({self.proc.returncode}); see {self.log_path}")
            try:
                urllib.request.urlopen(f"{self.api_base}/models", timeout=2).read()
                return
            except OSError:
                time.sleep(0.5)
        raise SystemExit("the model server did not start within 120 s")

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def run_dspy(python: Path, server: ModelServer, task: str, optimizer: str, seed: int, calls: int) -> dict:
    suite = load_task(task)
    kind, _, adapter = optimizer.partition("-")
    if optimizer == "gepa-standalone":
        kind, adapter = optimizer, "gepa default"
    job = {"task": task, "optimizer": kind, "adapter": adapter or "chat", "seed": seed, "task_calls": calls,
           "api_base": server.api_base, "model": "smollm2", **MIPRO_SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_path.write_text(json.dumps(job))
        start = time.time()
        proc = subprocess.run([str(python), str(REPO / "benchmarks/quality/dspy_runner.py"), str(job_path),
                               str(out_path)], capture_output=True, text=True,
                              env={**os.environ, "DSPY_CACHEDIR": str(Path(tmp) / "dspy-cache")})
        if proc.returncode != 0 or not out_path.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return {"error": f"dspy runner failed ({proc.returncode}): {' | '.join(tail)}"}
        out = json.loads(out_path.read_text())
    by_id = {e.id: e for e in suite.examples}
    scores = [score_answer(suite, by_id[a["id"]], a["answer"]) for a in out["test"]]
    seed_scores = [score_answer(suite, by_id[a["id"]], a["answer"]) for a in out["seed_test"]]
    return {"test_scores": scores, "task_calls": out["task_calls"], "optimizer_calls": out["proposer_calls"],
            "wall_s": time.time() - start, "dspy_seed_test": float(np.mean(seed_scores)) if seed_scores else 0.0,
            "parse_errors": sum(1 for a in out["test"] if a["error"]), "instruction": out["instruction"],
            "demos": out["demos"], "demo_pairs": out.get("demo_pairs"), "lenient_proposer_replies": out.get("lenient_replies")}


# MIPROv2 sized to land near the call budget (bootstrap + minibatch trials + periodic full evaluations);
# the calls it actually used are reported next to its score
MIPRO_SETTINGS = {"num_candidates": 4, "num_trials": 8, "minibatch_size": 10, "full_eval_steps": 4}


# ---- framework side --------------------------------------------------------------------------------
def reference_grid(suite):
    from evo.run.session import seed_genome_of
    from evo.operators.structural import ANSWER_ONLY

    seed = seed_genome_of(suite)
    by_task: dict[str, list[str]] = {}
    for ex in suite.split("train"):
        by_task.setdefault(ex.task, []).append(ex.id)
    demos = [i for ids in by_task.values() for i in ids[:3]]
    description = (suite.description or "").strip() or seed.instruction
    return {
        "answer_only": seed.replace(instruction=f"{seed.instruction} {ANSWER_ONLY}"),
        "description": seed.replace(instruction=description),
        "demos3": seed.replace(few_shot_k=3, demo_ids=demos),
        "description+demos3": seed.replace(instruction=description, few_shot_k=3, demo_ids=demos),
        "cot": seed.replace(instruction="Think step by step, then give the final answer on the last line.",
                            chain_of_thought=True, max_tokens=160),
    }


def score_fixed(suite, rows: list[str], model_path: Path | None = None) -> dict[str, dict]:
    """Seed and reference grid: scored on val (to choose) and test, outside any budget."""
    from evo.run.session import seed_genome_of
    from evo.evaluation.evaluator import Evaluator
    from evo.llm.cache import CachedBackend, ResponseCache
    from evo.llm.local import LocalBackend

    default_cache_path().parent.mkdir(parents=True, exist_ok=True)
    backend = CachedBackend(LocalBackend(model_path), ResponseCache(default_cache_path()))
    evaluator = Evaluator(backend, suite, workers=1)
    out = {}
    if "seed" in rows:
        batch = evaluator.evaluate(seed_genome_of(suite), suite.split("test"))
        out["seed"] = {"test_scores": [r.score for r in batch.records], "task_calls": 0}
    if "reference" in rows:
        grid = {}
        for name, genome in reference_grid(suite).items():
            val = evaluator.evaluate(genome, suite.split("val")).mean_score
            test = evaluator.evaluate(genome, suite.split("test"))
            grid[name] = {"val": val, "test": test.mean_score, "scores": [r.score for r in test.records]}
        chosen = max(grid, key=lambda k: (grid[k]["val"], k))
        out["reference"] = {"test_scores": grid[chosen]["scores"], "task_calls": 0, "chosen": chosen,
                            "grid": {k: {"val": v["val"], "test": v["test"]} for k, v in grid.items()},
                            "reference_best_test": max(v["test"] for v in grid.values())}
    backend.flush()
    return out


def default_cache_path() -> Path:
    return REPO / ".evo" / "quality-cache.sqlite"


def is_ours(row: str) -> bool:
    """A framework row: ``iterative``, ``evolutionary-unscreened``, ``hybrid+<ablation>``..."""
    return row.split("+")[0].removesuffix("-unscreened") in OURS


def run_ours(task: str, row: str, seed: int, calls: int, ablation: dict | None = None,
             model_path: Path | None = None) -> dict:
    """One framework run; ``ablation``: a run-config fragment deep-merged over the row's config (rows
    ``<row>+<name>`` of ``--ablation NAME JSON``)."""
    import evo
    from evo.config_base import deep_merge

    suite = load_task(task)
    base = row.split("+")[0]
    kind = base.removesuffix("-unscreened")
    strategy = {"kind": kind}
    if base.endswith("-unscreened"):
        off = {"minibatch": 0}
        strategy.update({"evolutionary": off, "iterative": off} if kind == "hybrid" else off)
    local = {"kind": "local", **({"model_path": str(model_path)} if model_path else {})}
    start = time.time()
    result = evo.optimize(suite, deep_merge({
        "strategy": strategy, "seed": seed, "budget": {"max_task_calls": calls},
        "task_model": local, "optimizer": local,
        "evaluator": {"kind": "threads", "workers": 1}, "cache": str(default_cache_path())}, ablation or {}))
    report = result.strategy_report
    screening = [r.get("screening") for r in (report, report.get("evolution") or {}, report.get("refinement") or {})
                 if isinstance(r, dict) and r.get("screening")]
    # the budget caps task + val-monitoring calls together (as GEPA's max_metric_calls counts its
    # valset evaluations): both are task-model calls
    # the row scores the prompt the run tells its user to use: the winner when it is significantly
    # better than the seed on val (evo.run.recommend), else the seed; the winner's own score is kept
    use_winner = result.recommendation.get("use_winner", True)
    recommended = result.final_batches["after" if use_winner else "before"]["test"].records
    return {"test_scores": [r.score for r in recommended], "winner_test_scores": [r.score for r in result.test_records],
            "recommended": "winner" if use_winner else "seed",
            "task_calls": result.calls["task"] + result.calls["monitor"], "monitor_calls": result.calls["monitor"],
            "optimizer_calls": result.calls["optimizer"], "candidates": result.distinct_candidates,
            "wall_s": time.time() - start, "screening": screening, "stop": result.stop_reason,
            # finalists compared on val at the end (outside the budget, as the reference row's choice)
            "finalists": len(result.final_selection) or 1, "n_val": len(suite.split("val")),
            "seed_test": result.before["test"]["mean_score"], "instruction": result.best_genome.instruction,
            # what made the winner (item 5: structural moves vs instruction text) and how usable proposals were
            "lineage_ops": [n["operator"] for n in result.lineage],
            "proposals": (report.get("optimizer_proposals") or (report.get("refinement") or {}).get("optimizer_proposals")),
            "genome": result.best_genome.to_json()}


# ---- table -----------------------------------------------------------------------------------------
def bootstrap_ci(values: list[float], rng: np.random.Generator, n: int = 2000) -> tuple[float, float]:
    if not values:
        return (0.0, 0.0)
    arr = np.asarray(values, dtype=float)
    means = arr[rng.integers(0, len(arr), size=(n, len(arr)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def load_runs(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def summarize(runs: list[dict], tasks, rows, calls: int = 300) -> tuple[str, dict]:
    """The table (markdown) and summary (JSON) of the runs at a budget of ``calls`` task-model calls
    (seed and reference rows are budget-free)."""
    rng = np.random.default_rng(0)
    runs = [r for r in runs if r["calls"] in (0, calls)]
    cell: dict[tuple, dict] = {}
    for task in tasks:
        for row in rows:
            got = [r for r in runs if r["task"] == task and r["row"] == row and "test_scores" in r]
            if not got:
                continue
            scores = [s for r in got for s in r["test_scores"]]
            cell[task, row] = {"mean": float(np.mean([np.mean(r["test_scores"]) for r in got])),
                               "ci": bootstrap_ci(scores, rng), "seeds": len(got),
                               "calls": float(np.mean([r.get("task_calls", 0) for r in got])),
                               "candidates": (float(np.mean([r["candidates"] for r in got]))
                                              if all("candidates" in r for r in got) else None),
                               "ref_best": (float(np.mean([r["reference_best_test"] for r in got]))
                                            if row == "reference" else None),
                               # an anchor's unoptimized program, scored like the rows (fair: ~ our seed row)
                               "anchor_seed": (float(np.mean([r["dspy_seed_test"] for r in got]))
                                               if all("dspy_seed_test" in r for r in got) else None),
                               # runs whose winner was not significantly better than the seed: the seed kept
                               "seed_kept": sum(1 for r in got if r.get("recommended") == "seed"),
                               "winner_mean": (float(np.mean([np.mean(r["winner_test_scores"]) for r in got]))
                                               if any(r.get("recommended") == "seed" for r in got) else None),
                               # the finalists' val evaluations at the end (outside the budget; at most,
                               # a finalist already evaluated on val costs nothing more)
                               "final_val_calls": (float(np.mean([r["finalists"] * r["n_val"] for r in got]))
                                                   if all("finalists" in r for r in got) else None)}
    lines = ["| task | " + " | ".join(rows) + " |", "|---|" + "---|" * len(rows)]
    for task in tasks:
        seed = cell.get((task, "seed"), {}).get("mean")
        parts = []
        for row in rows:
            c = cell.get((task, row))
            if c is None:
                parts.append("–")
                continue
            text = f"**{c['mean']:.3f}** ({c['ci'][0]:.2f}–{c['ci'][1]:.2f})"
            if seed is not None and row != "seed":
                text += f" {c['mean'] - seed:+.3f}"
            if c["calls"]:
                text += f", {c['calls']:.0f} calls"
            if c["candidates"] is not None:
                text += f", {c['candidates']:.0f} cand."
            if c["seed_kept"]:
                text += (f", seed kept on {c['seed_kept']}/{c['seeds']} (winner's own test "
                         f"{c['winner_mean']:.3f})")
            if c["final_val_calls"]:
                text += f", ≤{c['final_val_calls']:.0f} val calls to choose"
            if c["ref_best"] is not None:
                text += f", grid best {c['ref_best']:.3f}"
            if c["anchor_seed"] is not None:
                text += f", anchor's seed score {c['anchor_seed']:.3f}"
            parts.append(text)
        label = f"{Path(task).stem} (file)" if task.endswith((".yaml", ".yml")) else task
        lines.append(f"| {label} | " + " | ".join(parts) + " |")
    targets = {}
    for row in [r for r in rows if is_ours(r)]:
        have = [t for t in tasks if (t, row) in cell]
        ref = [t for t in have if (t, "reference") in cell and cell[t, row]["mean"] >= cell[t, "reference"]["ref_best"] - 1e-9]
        with_dspy = [t for t in have if all((t, d) in cell for d in CHAT_ANCHORS) and (t, "seed") in cell]
        beats = [t for t in with_dspy if all(
            cell[t, row]["mean"] - cell[t, "seed"]["mean"] > cell[t, d]["mean"] - cell[t, "seed"]["mean"] + 1e-9
            for d in CHAT_ANCHORS)]
        fair = [d for d in FAIR_ANCHORS if d in rows]
        # per task, the fair anchors measured there (at least one), each with its own seed score
        anchors_of = {t: [d for d in fair if (t, d) in cell and cell[t, d]["anchor_seed"] is not None] for t in have}
        with_fair = [t for t in have if anchors_of[t] and (t, "seed") in cell]
        # gain over the seed row vs each fair anchor's gain over its own unoptimized program
        beats_fair = [t for t in with_fair if all(
            cell[t, row]["mean"] - cell[t, "seed"]["mean"] >= cell[t, d]["mean"] - cell[t, d]["anchor_seed"] - 1e-9
            for d in anchors_of[t])]
        per100 = [100 * cell[t, row]["candidates"] / cell[t, row]["calls"] for t in have
                  if cell[t, row]["candidates"] and cell[t, row]["calls"]]
        # the same count seed by seed (a mean over seeds can hide a seed that misses, or the reverse)
        per_seed: dict[int, int] = {}
        for t in have:
            if (t, "reference") not in cell:
                continue
            for r in runs:
                if r["task"] == t and r["row"] == row and "test_scores" in r:
                    hit = float(np.mean(r["test_scores"])) >= cell[t, "reference"]["ref_best"] - 1e-9
                    per_seed[r["seed"]] = per_seed.get(r["seed"], 0) + hit
        targets[row] = {"tasks": len(have), "reaches_reference_best": len(ref), "beats_both_dspy_gains": len(beats),
                        "gain_at_least_fair_anchors": len(beats_fair), "tasks_with_fair_anchors": len(with_fair),
                        "fair_anchors": fair,
                        "reaches_reference_best_per_seed": dict(sorted(per_seed.items())),
                        "tasks_with_dspy": len(with_dspy),
                        "candidates_per_100_calls": float(np.mean(per100)) if per100 else None}
    lines.append("")
    lines.append("Cells: held-out test score of the prompt the run recommends (the winner when it is significantly "
                 "better than the seed on val, else the seed: 'seed kept'), mean over seeds (95% bootstrap CI over "
                 "seed x example), gain over the seed, "
                 "task-model calls, distinct candidates evaluated (framework rows); framework rows also compare their "
                 "finalists (up to 3, 4 for hybrid) on val after the budget, as the reference row chooses its prompt on val.")
    for row, t in targets.items():
        per100 = t["candidates_per_100_calls"]
        lines.append(f"- {row}: reaches the reference grid's best test score on {t['reaches_reference_best']}/{t['tasks']} "
                     f"tasks"
                     + (f"; beats both DSPy default-adapter rows' gain on {t['beats_both_dspy_gains']}/{t['tasks_with_dspy']}"
                        if t["tasks_with_dspy"] else "")
                     + (f"; gain >= every fair anchor's measured on the task (its gain over its own unoptimized "
                        f"program) on {t['gain_at_least_fair_anchors']}/{t['tasks_with_fair_anchors']}"
                        if t["tasks_with_fair_anchors"] else "")
                     + (f"; {per100:.1f} distinct candidates per 100 task calls" if per100 else "")
                     + (f"; grid best reached per seed: " + ", ".join(f"seed {k} {v}/{t['tasks']}" for k, v in
                                                                   t["reaches_reference_best_per_seed"].items())
                        if len(t["reaches_reference_best_per_seed"]) > 1 else ""))
    for d in [d for d in DSPY if d in rows]:
        have = [t for t in tasks if (t, d) in cell and cell[t, d]["anchor_seed"] is not None and (t, "seed") in cell]
        if have:
            inside = [t for t in have if cell[t, "seed"]["ci"][0] - 1e-9 <= cell[t, d]["anchor_seed"]
                      <= cell[t, "seed"]["ci"][1] + 1e-9]
            lines.append(f"- {d}: its unoptimized program scores within the seed row's 95% CI on {len(inside)}/{len(have)} "
                         "tasks (" + ", ".join(f"{t} {cell[t, d]['anchor_seed']:.3f}" for t in have) + ")")
            targets[d] = {"anchor_seed_within_seed_ci": len(inside), "tasks": len(have)}
    return "\n".join(lines), {"cells": {f"{k[0]}/{k[1]}": v for k, v in cell.items()}, "targets": targets}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS + OPTIONAL,
                        help="default: the five tasks that build offline; bigbench:<name> needs the BIG-bench archive")
    parser.add_argument("--suite", action="append", default=[], type=Path, metavar="FILE",
                        help="also benchmark this suite file (repeatable; at most 40 examples a split are used)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--calls", type=int, default=300, help="task-model calls per optimization run")
    parser.add_argument("--rows", nargs="+", default=[r for r in ROWS if r not in UNSCREENED + CHAT_ANCHORS],
                        choices=ROWS, help="the *-unscreened rows (screening off) measure what minibatches and racing "
                                           "change; gepa / miprov2 are DSPy with its default chat adapter (the record)")
    parser.add_argument("--model", default=None, metavar="NAME",
                        help="the local model of every row (task, optimizer, DSPy's server): gemma3-270m after "
                             "`make install-gemma`; its runs go to results/quality/<NAME>/ unless --out is given")
    parser.add_argument("--ablation", nargs=2, metavar=("NAME", "JSON"), default=None,
                        help="run our rows as <row>+NAME with this run-config fragment merged in, e.g. "
                             "--ablation ties '{\"strategy\": {\"racing_ties\": \"retry\"}}'")
    parser.add_argument("--out", type=Path, default=None, help="where runs, the table and the server log go")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads of the DSPy rows' model server (default: the cores free at start)")
    parser.add_argument("--table-only", action="store_true",
                        help="rewrite the table and summary from the runs already logged; run nothing")
    args = parser.parse_args(argv)
    args.tasks = list(args.tasks) + [str(p.resolve()) for p in args.suite]
    model_path = None
    if args.model:
        from evo.errors import ConfigError
        from evo.llm.local import local_model_path
        try:
            model_path = local_model_path(args.model)
        except (ConfigError, FileNotFoundError, OSError) as exc:
            parser.error(f"--model {args.model}: {exc}")
    if args.out is None:
        args.out = OUT / args.model if args.model else OUT
    ablation = None
    if args.ablation:
        name, fragment = args.ablation
        try:
            ablation = json.loads(fragment)
        except json.JSONDecodeError as exc:
            parser.error(f"--ablation {name}: not JSON ({exc})")
        if not isinstance(ablation, dict):
            parser.error(f"--ablation {name}: a JSON object (a run-config fragment) is needed")
        args.rows = [f"{r}+{name}" if r in OURS + UNSCREENED else r for r in args.rows]
    args.out.mkdir(parents=True, exist_ok=True)
    runs_path = args.out / "runs.jsonl"
    runs = load_runs(runs_path)
    # a run that failed is kept in the log (what went wrong) but tried again
    done = {(r["task"], r["row"], r["seed"], r["calls"]) for r in runs if "error" not in r}
    if args.table_only:
        args.seeds = []
    python = ensure_dspy_venv() if args.seeds and any(r in DSPY for r in args.rows) else None
    server = ModelServer(args.out, threads=args.threads, model_path=model_path) if python else None
    try:
        for seed in args.seeds:
            for task in args.tasks:
                fixed_rows = [r for r in ("seed", "reference") if r in args.rows and (task, r, 0, 0) not in done]
                todo = [(r, 0, 0) for r in fixed_rows]  # seed-independent: scored once
                todo += [(r, seed, args.calls) for r in args.rows if (is_ours(r) or r in DSPY)
                         and (task, r, seed, args.calls) not in done]
                if fixed_rows:
                    print(f"[{time.strftime('%H:%M:%S')}] {task}: scoring {' and '.join(fixed_rows)} (no optimization; "
                          "the reference grid tries several hand-written prompts)...", flush=True)
                    for row, rec in score_fixed(load_task(task), fixed_rows, model_path).items():
                        runs.append(_append(runs_path, {"task": task, "row": row, "seed": 0, "calls": 0, **rec}))
                for row, s, calls in todo:
                    if row in fixed_rows:
                        continue
                    print(f"[{time.strftime('%H:%M:%S')}] {task} {row} seed {s} ({calls} calls)...", flush=True)
                    rec = (run_dspy(python, server, task, row, s, calls) if row in DSPY
                           else run_ours(task, row, s, calls, ablation, model_path))
                    if "error" in rec:
                        print(f"  {row} failed: {rec['error']}", flush=True)
                    if ablation is not None and "+" in row:
                        rec["ablation"] = ablation  # what the row changed, logged with it
                    runs.append(_append(runs_path, {"task": task, "row": row, "seed": s, "calls": calls, **rec}))
                    table, _ = summarize(runs, args.tasks, args.rows, args.calls)
                    (args.out / ("table.md" if args.calls == 300 else f"table_{args.calls}.md")).write_text(table + "\n")
    finally:
        if server:
            server.close()
    table, summary = summarize(runs, args.tasks, args.rows, args.calls)
    suffix = "" if args.calls == 300 else f"_{args.calls}"
    (args.out / f"table{suffix}.md").write_text(table + "\n")
    (args.out / f"summary{suffix}.json").write_text(json.dumps(summary, indent=1))
    print(table)


def _append(path: Path, record: dict) -> dict:
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")
    return record


if __name__ == "__main__":
    main()
