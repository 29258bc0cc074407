"""Why does a bigger budget not pay? (issue 25, item 2): the chosen prompt against every prompt the run
evaluated.

    python -m benchmarks.quality.selection_diagnosis --task dates --strategy evolutionary --calls 1500 \
        [--seed 0] [--out results/quality/diagnosis]

Runs ``evo.optimize`` exactly as the quality benchmark's framework rows do (embedded model as task and
optimizer model, ``max_task_calls`` = ``--calls``, the benchmark's response cache), keeping its run
directory; then takes every genome the run evaluated on the whole training split (the checkpoint's
history: the candidates that survived screening, with their train score as the run measured it),
scores them on val and test outside the budget, and prints:

- the chosen prompt's train / val / test score and its rank on test among the candidates;
- the best-on-test candidate (what an oracle would have returned) and the gap to it;
- how many candidates are within noise of the chosen one on val (a paired difference under 1.96
  standard errors), and how their test scores spread: a wide spread with many ties on val means the
  final choice among them is a coin toss that more candidates only makes noisier;
- the rank correlation of train and val with test across candidates (a search that selects on train
  gains nothing from more candidates when train does not rank them as test does).

Writes ``<out>/<task>_<strategy>_<calls>_s<seed>.json`` with every candidate's three scores.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks.quality.run import default_cache_path  # noqa: E402
from benchmarks.quality.tasks import TASKS, OPTIONAL, load_task  # noqa: E402


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    ra, rb = (np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(float) for x in (a, b))
    return float(np.corrcoef(ra, rb)[0, 1])


def within_noise(chosen: np.ndarray, other: np.ndarray) -> bool:
    """Paired per-example difference of ``other`` minus ``chosen`` within 1.96 standard errors of 0."""
    d = other - chosen
    se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
    return bool(abs(d.mean()) <= 1.96 * se) if se > 0 else bool(d.mean() == 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", required=True, choices=TASKS + OPTIONAL)
    parser.add_argument("--strategy", default="evolutionary", choices=("iterative", "evolutionary", "hybrid"))
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "quality" / "diagnosis")
    parser.add_argument("--config", default=None, help="extra run settings as JSON (e.g. an ablation)")
    parser.add_argument("--tag", default="", help="a suffix of the output's name (an ablation's label)")
    args = parser.parse_args(argv)

    import evo
    from evo.evaluation.evaluator import Evaluator
    from evo.genome import PromptGenome
    from evo.llm.cache import CachedBackend, ResponseCache
    from evo.llm.local import LocalBackend

    suite = load_task(args.task)
    name = f"{args.task}_{args.strategy}_{args.calls}_s{args.seed}" + (f"_{args.tag}" if args.tag else "")
    run_dir = args.out / "runs" / name
    args.out.mkdir(parents=True, exist_ok=True)
    config = {"strategy": {"kind": args.strategy}, "seed": args.seed, "budget": {"max_task_calls": args.calls},
              "task_model": {"kind": "local"}, "optimizer": {"kind": "local"},
              "evaluator": {"kind": "threads", "workers": 1}, "cache": str(default_cache_path()),
              **json.loads(args.config or "{}")}
    print(f"optimizing {args.task} with {args.strategy} ({args.calls} task calls, seed {args.seed})...", flush=True)
    result = evo.optimize(suite, config, run_dir=run_dir, force=True)
    chosen_id = result.best_genome.id
    history = json.loads((run_dir / "checkpoint.json").read_text())["history"]
    screened = len(history["genomes"])
    genomes = {gid: PromptGenome.from_json(g) for gid, g in history["genomes"].items() if gid in history["points"]}
    for g in (result.best_genome, result.seed_genome):
        genomes.setdefault(g.id, g)
    print(f"scoring the {len(genomes)} genomes evaluated on all of train (of {screened} evaluated at all) on val and "
          f"test...", flush=True)
    backend = CachedBackend(LocalBackend(), ResponseCache(default_cache_path()))
    evaluator = Evaluator(backend, suite, workers=1)
    rows = {}
    for i, (gid, genome) in enumerate(genomes.items(), 1):
        splits = ("val", "test") if gid in history["points"] else ("train", "val", "test")
        scores = {split: np.array([r.score for r in evaluator.evaluate(genome, suite.split(split)).records])
                  for split in splits}
        if "train" not in scores:  # the run's own measure (a single mean: no per-example paired test on train)
            scores["train"] = np.array([history["points"][gid]["quality"]])
        rows[gid] = scores
        if i % 10 == 0:
            print(f"  {i}/{len(genomes)}", flush=True)
            backend.flush()
    backend.flush()
    ids = list(rows)
    mean = {s: np.array([rows[g][s].mean() for g in ids]) for s in ("train", "val", "test")}
    c = ids.index(chosen_id)
    best_test = int(np.argmax(mean["test"]))
    ties = [g for g in ids if g != chosen_id and within_noise(rows[chosen_id]["val"], rows[g]["val"])]
    tie_test = np.array([rows[g]["test"].mean() for g in ties]) if ties else np.array([])
    report = {
        "task": args.task, "strategy": args.strategy, "calls": args.calls, "seed": args.seed,
        "candidates": len(ids), "evaluated_at_all": screened, "stop": result.stop_reason,
        "recommendation": result.recommendation, "config": json.loads(args.config or "{}"),
        "final_selection": result.final_selection,
        "chosen": {"id": chosen_id, **{s: float(mean[s][c]) for s in mean},
                   "test_rank": int(1 + np.sum(mean["test"] > mean["test"][c]))},
        "seed_genome": {s: float(rows[result.seed_genome.id][s].mean()) for s in mean}
        if result.seed_genome.id in rows else None,
        "best_on_test": {"id": ids[best_test], **{s: float(mean[s][best_test]) for s in mean}},
        "within_noise_on_val": len(ties),
        "their_test": ({"min": float(tie_test.min()), "mean": float(tie_test.mean()), "max": float(tie_test.max())}
                       if ties else None),
        "spearman_train_test": spearman(mean["train"], mean["test"]),
        "spearman_val_test": spearman(mean["val"], mean["test"]),
        "per_candidate": {g: {s: float(rows[g][s].mean()) for s in mean} for g in ids},
    }
    (args.out / f"{name}.json").write_text(json.dumps(report, indent=1))
    ch, bt = report["chosen"], report["best_on_test"]
    print(f"{name}: {len(ids)} candidates; chosen train {ch['train']:.3f} val {ch['val']:.3f} test {ch['test']:.3f} "
          f"(rank {ch['test_rank']} on test); best on test {bt['test']:.3f} (train {bt['train']:.3f}, val "
          f"{bt['val']:.3f}); {len(ties)} candidates within noise of the chosen on val"
          + (f", their test {report['their_test']['min']:.3f}-{report['their_test']['max']:.3f} "
             f"(mean {report['their_test']['mean']:.3f})" if ties else "")
          + f"; Spearman train~test {report['spearman_train_test']:.2f}, val~test {report['spearman_val_test']:.2f}"
          + ("" if result.recommendation.get("use_winner", True) else
             f"; the run recommends the seed (test {report['seed_genome']['test']:.3f})" if report["seed_genome"] else
             "; the run recommends the seed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
