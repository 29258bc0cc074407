"""One round of the closed loop (``evo improve --once``, for cron or a systemd timer):

1. seed a population from the current production arms (and the other active arms);
2. evolve on the golden suite plus logged production examples (decisions whose request features
   carry the task's input fields and an ``expected`` value join the training split);
3. filter the winners with a reward model trained on the router's logs (when there are enough);
4. deploy the survivors as new arms beside production.
Every round is one MLflow run (metrics per generation, the deployed genomes, the reward model's
held-out quality).
"""
from __future__ import annotations

import json
from pathlib import Path

from bandit.store import ArmStore
from evo.api import optimize
from evo.run.session import seed_genome_of
from evo.errors import ConfigError
from evo.genome import PromptGenome
from evo.run.run_dir import new_run_dir
from evo.run.spec import RunSpec
from evo.tasks.suite import Example, TaskSuite, template_fields
from evo.tracking import run_outcome


def logged_examples(suite: TaskSuite, logs: list[dict]) -> list[Example]:
    """Router logs that can serve as training examples for the suite's first task."""
    task = suite.tasks[0]
    needed = template_fields(task.input_template)
    out, seen = [], set()
    for row in logs:
        f = row.get("features") or {}
        if "expected" in f and needed <= set(f):
            key = json.dumps({k: f[k] for k in sorted(needed)}, sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.append(Example(f"log-{row['decision_id']}", task.name, {k: f[k] for k in needed},
                                   f["expected"], "train"))
    return out


def improve_once(suite: TaskSuite, store: ArmStore, spec: RunSpec, *, router, top: int = 2,
                 tracker=None, runs_root: Path = Path("results/improve"), backends: dict | None = None,
                 min_logs_for_model: int = 20, env=None) -> dict:
    if spec.strategy.kind != "evolutionary":
        raise ConfigError("strategy.kind", "evo improve evolves the production arms: the strategy must be evolutionary")
    arms = [a for a in store.arms() if a.active]
    production = [PromptGenome.from_json(a.genome) for a in arms if a.production]
    others = [PromptGenome.from_json(a.genome) for a in arms if not a.production]
    seed_genome = production[0] if production else seed_genome_of(suite)
    logs = store.logs()
    extra = logged_examples(suite, logs)
    golden = suite.subset(list(suite.examples) + extra) if extra else suite
    run_path = new_run_dir(runs_root, suite.name, "improve")
    result = optimize(golden, spec, run_dir=run_path, backends=backends, tracker=tracker, seed_genome=seed_genome,
                      extra_seeds=tuple(production[1:] + others), env=env)
    run_id = json.loads((run_path / "config.json").read_text())["tracker_run_id"]
    with run_outcome(tracker, run_id, finish=False):  # optimize ended it FINISHED; a failure here re-ends it
        candidates = [g for g in result.final_candidates if g.id not in {a.id for a in arms}]
        model_quality = None
        if len(logs) >= min_logs_for_model:
            from bandit.reward_model import train

            try:
                model = train(logs)
                model.save(run_path / "reward_model.json")
                model_quality = model.quality
                bar = max(model.predict_genome(g) for g in production) if production else float("-inf")
                candidates = [g for g in candidates if model.predict_genome(g) >= bar]
            except ValueError as exc:  # too little signal yet: deploy unfiltered, say why
                model_quality = {"skipped": str(exc)}
        from evo.evaluation.render import render_context

        deployed = []
        if not production:
            router.add_arm(seed_genome.id, seed_genome.to_json(), label="production (seed prompt)", production=True,
                           context=render_context(seed_genome, golden))
        for g in candidates[:top]:
            router.add_arm(g.id, g.to_json(), label=f"improve {run_path.name}", context=render_context(g, golden))
            deployed.append(g.id)
        report = {"run_dir": str(run_path), "logged_examples": len(extra), "deployed": deployed,
                  "reward_model": model_quality, "after": result.after, "before": result.before,
                  "stop_reason": result.stop_reason}
        (run_path / "improve.json").write_text(json.dumps(report, indent=2, default=str))
        if tracker and run_id:
            tracker.log_dict(run_id, report, "improve.json")
            tracker.log_metrics(run_id, {"deployed": len(deployed), "logged_examples": len(extra),
                                         "after_val_score": result.after["val"]["mean_score"]}, len(result.steps))
    return report
