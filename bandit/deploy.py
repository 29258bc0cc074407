"""Promote the winners of an optimization run (a run directory) as router arms beside production."""
from __future__ import annotations

import json
from pathlib import Path

from evo.errors import ConfigError
from evo.genome import PromptGenome


def run_candidates(run_dir: Path, pareto: bool = False) -> list[tuple[PromptGenome, float | None]]:
    """(genome, train quality) of the run's best genomes, best first: the final choice, then the hall of
    fame (or the Pareto front with ``pareto``) from the run's ``strategy_report.json``."""
    result_path = run_dir / "result.json"
    if not result_path.is_file():
        raise ConfigError(run_dir, "no result.json: the run has not finished (see `evo resume`)")
    result = json.loads(result_path.read_text())
    out = [(PromptGenome.from_json(result["best_genome"]), result["after"]["train"]["mean_score"])]
    report_path = run_dir / "strategy_report.json"
    if report_path.is_file():
        report = json.loads(report_path.read_text())
        report = report.get("evolution") or report  # a hybrid run reports its evolution phase inside
        pool = sorted(report.get("pareto_front" if pareto else "hall_of_fame") or [], key=lambda d: -d["quality"])
        out += [(PromptGenome.from_json(d["genome"]), d["quality"]) for d in pool]
    seen, unique = set(), []
    for genome, q in out:
        if genome.id not in seen:
            seen.add(genome.id)
            unique.append((genome, q))
    return unique


def run_suite(run_dir: Path):
    """The suite the run optimized on (from its ``config.json``), or None for a run dir without one."""
    from evo.tasks.loader import load_suite

    config = run_dir / "config.json"
    if not config.is_file():
        return None
    ref = json.loads(config.read_text()).get("resolved", {}).get("suite")
    if not ref:
        return None
    try:
        return load_suite(ref)
    except Exception as exc:  # noqa: BLE001 - any load failure gets the same one-line error
        raise ConfigError(config, f"cannot load the run's suite {ref!r} (needed to render the arms' few-shot "
                          f"demos): {exc}", "resolved.suite") from None


def deploy_run(router, run_dir: Path, *, top: int = 2, pareto: bool = False,
               reward_model_path: Path | None = None, require_ope_lift: bool = False) -> list[tuple[str, str]]:
    """Deploy the run's best genomes as arms (the seed prompt as production when there is none yet),
    each with its render context (task templates and few-shot demos) so ``/route`` can render it.
    ``require_ope_lift``: a genome is deployed only when its off-policy DR estimate's 95% lower bound
    (``bandit.ope``) clears production's; ``ConfigError`` naming each refused genome and why."""
    from evo.evaluation.render import render_context

    run_dir = Path(run_dir)
    result = json.loads((run_dir / "result.json").read_text()) if (run_dir / "result.json").is_file() else None
    candidates = run_candidates(run_dir, pareto)
    suite = run_suite(run_dir)

    def context(genome: PromptGenome):
        return render_context(genome, suite) if suite is not None else None
    added = []
    if not any(a.production and a.active for a in router.store.arms()) and result is not None:
        seed = PromptGenome.from_json(result["seed_genome"])
        router.add_arm(seed.id, seed.to_json(), label="production (seed prompt)", production=True,
                       context=context(seed))
        added.append((seed.id, "production"))
    if reward_model_path is not None:
        from bandit.reward_model import RewardModel

        model = RewardModel.load(reward_model_path)
        production = [a for a in router.store.arms() if a.production and a.active]
        baseline = max(model.predict_genome(PromptGenome.from_json(a.genome)) for a in production)
        candidates = [(g, q) for g, q in candidates if model.predict_genome(g) >= baseline]
    if require_ope_lift:
        candidates = _with_ope_lift(router, candidates[:top], reward_model_path)
    for rank, (genome, quality) in enumerate(candidates[:top], start=1):
        label = arm_label(run_dir, rank, genome, quality, result)
        router.add_arm(genome.id, genome.to_json(), label=label, context=context(genome))
        added.append((genome.id, label))
    return added


def _with_ope_lift(router, candidates, reward_model_path):
    """The candidates whose off-policy estimate clears production; ``ConfigError`` when none does."""
    from bandit.ope import evaluate_candidate
    from evo.errors import ConfigError

    model = None
    if reward_model_path is not None:
        from bandit.reward_model import RewardModel

        model = RewardModel.load(reward_model_path)
    kept, refused = [], []
    for genome, quality in candidates:
        try:
            result = evaluate_candidate(router.store, ("genome", genome), reward_model=model, resamples=500)
        except ValueError as exc:
            refused.append(f"{genome.id}: {exc}")
            continue
        (kept if result["lift"] else refused).append((genome, quality) if result["lift"] else
                                                     f"{genome.id}: {result['lift_rule']}")
    if not kept:
        raise ConfigError("--require-ope-lift", "no candidate shows a lift over production from the logs: "
                          + "; ".join(refused))
    return kept


def run_name(run_dir: Path) -> str:
    """``experiment/strategy/seedN`` for a comparison's cell (``results/<exp>/runs/<suite>/<strategy>/seedN``),
    else the run directory's name."""
    parts = run_dir.resolve().parts
    if len(parts) >= 5 and parts[-4] == "runs" and parts[-1].startswith("seed"):
        return f"{parts[-5]}/{parts[-2]}/{parts[-1]}"
    return run_dir.name


def arm_label(run_dir: Path, rank: int, genome: PromptGenome, train_quality: float | None, result: dict | None) -> str:
    """``<run>#<rank> test 0.59 train 0.83``: the run's winner carries its held-out test score; other
    finalists were only measured on train."""
    label = f"{run_name(run_dir)}#{rank}"
    if result is not None and genome.id == result["best_genome"]["id"]:
        return f"{label} test {result['after']['test']['mean_score']:.2f} train {result['after']['train']['mean_score']:.2f}"
    return f"{label} train {train_quality:.2f}" if train_quality is not None else label
