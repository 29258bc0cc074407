"""The orchestration contract: what is logged is what ran, a logged config reproduces its run, every
command gets its evaluator from one pool factory (Ray included), and the README's Python API runs."""
import json
import os
import re
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from evo.cli.progress import RunProgress

from evo.tracking import flat_params, run_params
from experiments.config import load_experiment, resolve_experiment
from experiments.runner import run_experiment
from tests.helpers import keyword_task_model, pure_optimizer, write_add_suite

README = Path(__file__).resolve().parents[2] / "README.md"
OPTIMIZE_PAGE = Path(__file__).resolve().parents[2] / "docs" / "optimize.md"


def quickstart_like(tmp_path: Path, extra: str = "") -> Path:
    """The quickstart's shape: no explicit optimizer (the environment decides), local-optimizer defaults."""
    suite = write_add_suite(tmp_path, 8, 6, 6)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(f"""
name: qs
suites: ['{suite}']
split_limits: {{train: 6, val: 4}}
strategies:
  iterative: {{kind: iterative, n_candidates: 2, max_train_iterations: 2, max_val_iterations: 1}}
  evolutionary: {{kind: evolutionary, population_size: 4, keep: 2, generations: 2, target_score: null}}
budget: {{max_calls: 150}}
evaluator: {{kind: threads, workers: 1}}
tracking: {{kind: mlflow, uri: 'sqlite:///{tmp_path}/mlflow.db'}}
output_dir: '{tmp_path}/results'
bootstrap_resamples: 200
{extra}""")
    return cfg


def backends():
    return {"task": keyword_task_model(), "optimizer": pure_optimizer()}


def trajectories(report) -> dict:
    return {(c.suite, c.strategy, c.seed): [(s["best_id"], s["task_calls"], s["optimizer_calls"]) for s in c.result.steps]
            for c in report.cells}


def test_logged_config_is_what_ran_and_reproduces_the_run(tmp_path):
    cfg = quickstart_like(tmp_path)
    console = Console(file=open(tmp_path / "console.txt", "w"))
    first = run_experiment(cfg, progress=RunProgress(console), backends=backends(), env={})
    out = tmp_path / "results" / "qs"
    resolved_file = out / "resolved_config.yaml"
    saved = yaml.safe_load(resolved_file.read_text())
    # the optimizer the environment chose is written down, with the local-optimizer settings it implies
    assert saved["optimizer"]["kind"] == "local"
    assert saved["strategies"]["iterative"]["template"] == "iterative_compact_v1"
    assert saved["strategies"]["iterative"]["extraction"] == "lenient"
    assert saved["strategies"]["evolutionary"]["compact_prompts"] is True

    from mlflow.tracking import MlflowClient
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("qs").experiment_id])
    parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
    assert parent.data.tags["config_sha256"] == resolve_experiment(load_experiment(resolved_file), env={}).sha256()
    for strategy in ("iterative", "evolutionary"):
        run_dir = out / "runs" / "add" / strategy / "seed0"
        meta = json.loads((run_dir / "config.json").read_text())
        state = json.loads((run_dir / "checkpoint.json").read_text())["strategy"]
        # config.json describes the config the strategy actually used (its own state's config) ...
        assert meta["resolved"]["strategy"] == state["config"]
        child = next(r for r in runs if r.info.run_id == meta["tracker_run_id"])
        # ... and so do the MLflow params: the core settings, each as config.json has it
        flat = flat_params(meta["resolved"])
        assert {k: str(v) for k, v in run_params(flat).items()}.items() <= child.data.params.items()
        assert all(child.data.params[k] == str(flat[k]) for k in child.data.params) and len(child.data.params) < 20
        assert child.data.params["strategy.kind"] == strategy and "cache" not in child.data.params
        assert child.data.tags["cache"] == str(meta["resolved"]["cache"])
        assert child.data.tags["config_sha256"] == meta["config_sha256"]

    # the saved resolved config reproduces the run, even where the environment would now choose Claude
    os.rename(out, tmp_path / "first")
    again = run_experiment(resolved_file.parent.parent.parent / "first" / "resolved_config.yaml",
                           progress=RunProgress(console), backends=backends(), env={"ANTHROPIC_API_KEY": "sk-ant-x"})
    assert trajectories(again) == trajectories(first)
    assert again.rows == first.rows
    assert yaml.safe_load((out / "resolved_config.yaml").read_text()) == saved


def test_optimize_reproduces_from_a_run_dirs_config_json(add_suite, tmp_path, monkeypatch):
    import evo
    monkeypatch.chdir(tmp_path)
    spec = {"strategy": {"kind": "evolutionary", "population_size": 4, "keep": 2, "generations": 2,
                         "target_score": None}, "budget": {"max_calls": 80}, "task_model": {"kind": "scripted"},
            "evaluator": {"kind": "threads", "workers": 1}}
    first = evo.optimize(add_suite, spec, run_dir=tmp_path / "a", backends=backends(), env={})
    config_json = tmp_path / "a" / "config.json"
    assert json.loads(config_json.read_text())["resolved"]["optimizer"]["kind"] == "local"
    second = evo.optimize(None, config_json, run_dir=tmp_path / "b", backends=backends(),
                          env={"ANTHROPIC_API_KEY": "sk-ant-x"})
    assert [s["best_id"] for s in second.steps] == [s["best_id"] for s in first.steps]
    assert second.best_genome == first.best_genome and second.after == first.after
    assert json.loads((tmp_path / "b" / "config.json").read_text())["resolved"] == \
           json.loads(config_json.read_text())["resolved"]


ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield
    if started:
        ray.shutdown()


def test_ablate_on_a_ray_config_evaluates_every_variant_through_ray(tmp_path, cluster):
    from experiments.ablate import run_ablation
    suite = write_add_suite(tmp_path, 6, 4, 4)
    base = tmp_path / "ray.yaml"
    base.write_text(f"""
name: rayab
suites: ['{suite}']
task_model: {{kind: scripted, default: '5'}}
optimizer: {{kind: scripted, default: '<prompt>Give the number only.</prompt>'}}
strategies:
  evolutionary: {{kind: evolutionary, population_size: 3, keep: 1, generations: 1, target_score: null}}
budget: {{max_calls: 60}}
evaluator: {{kind: ray, address: local, num_workers: 2}}
tracking: {{kind: none}}
output_dir: '{tmp_path}/results'
bootstrap_resamples: 100
""")
    overlay = tmp_path / "bigger.yaml"
    overlay.write_text("strategies: {evolutionary: {population_size: 4}}\n")
    report = run_ablation(base, [overlay], RunProgress(Console(file=open(tmp_path / "c.txt", "w"))),
                          grid={"strategies.evolutionary.crossover_prob": [0.0]})
    assert {c.variant for c in report.cells} == {"bigger", "crossover_prob_0.0"}
    assert {c.strategy for c in report.cells} == {"baseline", "evolutionary"}
    for cell in report.cells:
        where = cell.result.evaluator
        assert where["kind"] == "ray" and where["mode"] == "tasks", (cell.variant, cell.strategy, where)
        assert where["worker_pids"] and os.getpid() not in where["worker_pids"]  # scored in Ray's workers
        run_dir = tmp_path / "results" / f"rayab-{cell.variant}" / "runs" / "add" / cell.strategy / "seed0"
        assert json.loads((run_dir / "result.json").read_text())["evaluator"]["kind"] == "ray"


@pytest.mark.model
@pytest.mark.parametrize("page, run_dir", [(README, "readme-example"), (OPTIMIZE_PAGE, "api-example")])
def test_the_python_api_examples_run(page, run_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code = next(b for b in re.findall(r"```python\n(.*?)```", page.read_text(), re.DOTALL)
                if b.startswith("import evo"))
    namespace: dict = {}
    exec(compile(code, page.name, "exec"), namespace)
    result = namespace["result"]
    assert result.after["test"]["n"] == 3 and len(result.test_records) == 3
    assert result.calls["task"] <= 60 and (tmp_path / "results/runs" / run_dir / "result.json").exists()
    assert result.recommendation["reason"]
