"""Reward model from router logs, deploy filtering, and one `evo improve --once` round."""
import re
import json

import numpy as np
import pytest

from bandit.deploy import deploy_run
from bandit.policies import BetaTSConfig
from bandit.reward_model import RewardModel, train
from bandit.rollout import RolloutConfig
from bandit.router import Router
from bandit.store import ArmStore
from evo.genome import PromptGenome
from evo.run.spec import RunSpec
from experiments.improve import improve_once, logged_examples
from evo.tracking import InMemoryTracker
from tests.helpers import arithmetic_suite, keyword_task_model, pure_optimizer

GOOD = PromptGenome(instruction="Give the number only.")
BAD = PromptGenome(instruction="Tell me a story about it.", temperature=0.9)
NO_ROLLOUT = RolloutConfig(enabled=False)  # balanced traffic for the reward model


def fill_logs(router, n=300, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        d = router.route({"a": int(i % 7 + 1), "b": int(i % 5 + 1), "expected": str(i % 7 + i % 5 + 2), "lang": "en"})
        p = 0.85 if d.arm_id == GOOD.id else 0.25
        router.reward(d.decision_id, float(rng.random() < p))


@pytest.fixture
def router(tmp_path):
    r = Router(ArmStore(f"sqlite:///{tmp_path}/b.sqlite"), BetaTSConfig(), seed=0, refresh_s=0.01)
    r.add_arm(BAD.id, BAD.to_json(), production=True)
    r.add_arm(GOOD.id, GOOD.to_json())
    return r


def test_reward_model_learns_from_logs_and_round_trips(router, tmp_path):
    from bandit.policies import UniformConfig
    with pytest.raises(ValueError, match="at least 20"):
        train(router.store.logs())
    # balanced traffic (uniform routing), so held-out data covers both arms
    fill_logs(Router(router.store, UniformConfig(kind="uniform"), seed=1, rollout=NO_ROLLOUT))
    model = train(router.store.logs())
    q = model.quality
    assert q["metric"] == "brier" and q["heldout"] < q["baseline"] and q["auc"] > 0.7
    assert model.predict_genome(GOOD) > model.predict_genome(BAD)
    model.save(tmp_path / "m.json")
    again = RewardModel.load(tmp_path / "m.json")
    assert again.predict_genome(GOOD) == pytest.approx(model.predict_genome(GOOD))
    assert "coef" in json.loads((tmp_path / "m.json").read_text())  # JSON, not a pickle


def test_deploy_filters_with_reward_model(router, tmp_path):
    from bandit.policies import UniformConfig
    fill_logs(Router(router.store, UniformConfig(kind="uniform"), seed=1, rollout=NO_ROLLOUT))
    train(router.store.logs()).save(tmp_path / "m.json")
    run = tmp_path / "run"
    run.mkdir()
    worse = PromptGenome(instruction="Tell me a long story.", temperature=1.0)
    better = PromptGenome(instruction="Answer with the number only.")
    (run / "result.json").write_text(json.dumps({
        "best_genome": worse.to_json(), "seed_genome": BAD.to_json(), "after": {"train": {"mean_score": 0.5}}}))
    (run / "strategy_report.json").write_text(json.dumps({"hall_of_fame": [{"genome": better.to_json(), "quality": 0.4}]}))
    added = deploy_run(router, run, top=3, reward_model_path=tmp_path / "m.json")
    assert [a for a, _ in added] == [better.id]


def test_improve_once_closes_the_loop(router, tmp_path):
    fill_logs(router, n=120)
    suite = arithmetic_suite()
    assert len(logged_examples(suite, router.store.logs())) > 0
    config = RunSpec.model_validate({
        "strategy": {"kind": "evolutionary", "population_size": 6, "keep": 3, "generations": 2, "target_score": None},
        "budget": {"max_calls": 2000}, "task_model": {"kind": "scripted"}, "optimizer": {"kind": "scripted"},
        "cache": False})
    tracker = InMemoryTracker()
    before = {a.id for a in router.store.arms()}
    report = improve_once(suite, router.store, config, router=router, top=2, tracker=tracker, runs_root=tmp_path,
                          backends={"task": keyword_task_model(), "optimizer": pure_optimizer()})
    assert report["logged_examples"] > 0 and report["reward_model"]["n_train"] > 0
    new = {a.id for a in router.store.arms()} - before
    assert new == set(report["deployed"]) and 1 <= len(new) <= 2
    run = next(iter(tracker.runs.values()))
    assert run["status"] == "FINISHED" and "evolutionary/quality_best" in run["metrics"] and "improve.json" in run["artifacts"]


@pytest.mark.parametrize("strategy", [
    {"kind": "evolutionary", "population_size": 4, "keep": 2, "generations": 2, "target_score": None, "mode": "pareto"},
    {"kind": "hybrid", "evolutionary": {"population_size": 4, "keep": 2, "generations": 1, "target_score": None},
     "iterative": {"n_candidates": 1, "max_train_iterations": 1, "max_val_iterations": 1}}])
def test_deploy_reads_a_real_runs_strategy_report(strategy, tmp_path, add_suite):
    import evo
    from bandit.deploy import run_candidates
    evo.optimize(add_suite, {"strategy": strategy, "budget": {"max_calls": 120}, "cache": False,
                             "task_model": {"kind": "scripted"}, "optimizer": {"kind": "scripted"}},
                 run_dir=tmp_path / "run", env={}, backends={"task": keyword_task_model(), "optimizer": pure_optimizer()})
    for pareto in (False, True):
        candidates = run_candidates(tmp_path / "run", pareto=pareto)
        assert len(candidates) > 1 and all(q is not None for _, q in candidates[1:])
        assert len({g.id for g, _ in candidates}) == len(candidates)


def test_cli_deploy_of_a_real_run_serves_rendered_prompts(tmp_path, add_suite):
    """The README walkthrough: optimize, `evo bandit deploy RUN`, serve, `/route` with input fields."""
    import httpx

    import evo
    from evo.cli.main import main
    from evo.evaluation.evaluator import Evaluator
    from evo.evaluation.render import request_json
    from evo.llm.scripted import ScriptedBackend
    from tests.fake_servers import start_router

    strategy = {"kind": "evolutionary", "population_size": 4, "keep": 2, "generations": 2, "target_score": None}
    evo.optimize(add_suite, {"strategy": strategy, "budget": {"max_calls": 120}, "cache": False,
                             "task_model": {"kind": "scripted"}, "optimizer": {"kind": "scripted"}},
                 run_dir=tmp_path / "run", env={}, backends={"task": keyword_task_model(), "optimizer": pure_optimizer()})
    store = f"sqlite:///{tmp_path}/deploy.sqlite"
    assert main(["bandit", "deploy", str(tmp_path / "run"), "--store", store, "--top", "2"]) == 0
    arms = ArmStore(store).arms()
    assert len(arms) == 3 and all(a.context and a.context["tasks"]["add"]["input_template"] == "{a} + {b}" for a in arms)
    labels = sorted(a.label for a in arms)  # the winner with its held-out score, a finalist with its train score
    assert labels[0] == "production (seed prompt)"
    assert re.fullmatch(r"run#1 test \d\.\d\d train \d\.\d\d", labels[1]) and re.fullmatch(r"run#2 train \d\.\d\d", labels[2])
    base, proc = start_router(store, "t")
    try:
        suite = evo.load_suite(add_suite)
        example = suite.split("test")[0]
        for _ in range(20):
            answer = httpx.post(base + "/route", json={"input": dict(example.inputs)}, timeout=10).json()
            genome = PromptGenome.from_json(answer["genome"])
            backend = ScriptedBackend(lambda request: "1")
            Evaluator(backend, suite, workers=1).evaluate(genome, [example])
            assert answer["request"] == request_json(backend.requests[0])
        status = {r["arm_id"]: r for r in httpx.get(base + "/arms", timeout=10).json()["arms"]}
        assert sorted(r["stage"] for r in status.values()) == ["1/3", "1/3", "production"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_comparison_cell_is_labelled_experiment_strategy_seed(tmp_path):
    from bandit.deploy import run_name
    cell = tmp_path / "results" / "quickstart" / "runs" / "arithmetic" / "iterative" / "seed2"
    cell.mkdir(parents=True)
    assert run_name(cell) == "quickstart/iterative/seed2"
    assert run_name(tmp_path / "arithmetic_evolutionary_20261207") == "arithmetic_evolutionary_20261207"


def test_deploy_require_ope_lift_keeps_only_candidates_that_clear_production(router, tmp_path):
    """A served genome that did better than production in the logs clears it; a served one that did
    worse is refused; a never-served one needs the reward model and is judged by it."""
    from bandit.policies import UniformConfig
    from evo.errors import ConfigError
    fill_logs(Router(router.store, UniformConfig(kind="uniform"), seed=1, rollout=NO_ROLLOUT))
    run = tmp_path / "run"
    run.mkdir()
    (run / "result.json").write_text(json.dumps({
        "best_genome": GOOD.to_json(), "seed_genome": BAD.to_json(), "after": {"train": {"mean_score": 0.9}, "test": {"mean_score": 0.9}}}))
    (run / "strategy_report.json").write_text(json.dumps({"hall_of_fame": []}))
    added = deploy_run(router, run, top=1, require_ope_lift=True)
    assert [a for a, _ in added] == [GOOD.id]
    (run / "result.json").write_text(json.dumps({
        "best_genome": BAD.to_json(), "seed_genome": BAD.to_json(), "after": {"train": {"mean_score": 0.1}, "test": {"mean_score": 0.1}}}))
    with pytest.raises(ConfigError, match="no candidate shows a lift"):
        deploy_run(router, run, top=1, require_ope_lift=True)
    new = PromptGenome(instruction="Answer with the number only.")
    (run / "result.json").write_text(json.dumps({
        "best_genome": new.to_json(), "seed_genome": BAD.to_json(), "after": {"train": {"mean_score": 0.9}, "test": {"mean_score": 0.9}}}))
    with pytest.raises(ConfigError, match="never served"):
        deploy_run(router, run, top=1, require_ope_lift=True)
