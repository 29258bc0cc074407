"""`evo compare` end to end on scripted models, asserting the MLflow runs, per-step metrics and artifacts."""
import csv
import json

import pytest
import yaml
from rich.console import Console

from evo.cli.progress import RunProgress

from experiments.runner import run_experiment
from tests.helpers import keyword_task_model, pure_optimizer, write_add_suite, write_experiment


@pytest.fixture
def experiment(tmp_path):
    suite = write_add_suite(tmp_path, 12, 8, 10)
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(f"""
name: e2e
suites: ['{suite}']
task_model: {{kind: scripted}}
optimizer: {{kind: scripted}}
strategies:
  iterative: {{kind: iterative, n_candidates: 2, max_train_iterations: 2, max_val_iterations: 1}}
  evolutionary: {{kind: evolutionary, population_size: 4, keep: 2, generations: 2, target_score: null}}
  hybrid:
    kind: hybrid
    evolutionary: {{population_size: 4, keep: 2, generations: 1, target_score: null}}
    iterative: {{n_candidates: 1, max_train_iterations: 1, max_val_iterations: 1}}
budget: {{max_calls: 300, monitor_val: true}}  # the val curves are checked below
seeds: [0, 1]
tracking: {{kind: mlflow, uri: 'sqlite:///{tmp_path}/mlflow.db'}}
output_dir: '{tmp_path}/results'
bootstrap_resamples: 200
""")
    return cfg, tmp_path


def test_compare_end_to_end_with_mlflow(experiment, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-should-never-be-logged")
    cfg, tmp = experiment
    report = run_experiment(cfg, [], progress=RunProgress(Console(file=open(tmp / "console.txt", "w"))),
                            backends={"task": keyword_task_model(), "optimizer": pure_optimizer()})
    out = tmp / "results" / "e2e"
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert [r["strategy"] for r in rows] == ["baseline", "iterative", "evolutionary", "hybrid"]
    for r in rows:
        assert float(r["ci95_low"]) <= float(r["test_score"]) <= float(r["ci95_high"])
        assert r["seeds"] == "2" and r["test_n"] == "10"
    assert all(r["wilcoxon_p_vs_baseline"] != "" for r in rows[1:])
    assert len(list(csv.DictReader(open(out / "pairwise.csv")))) == 3
    assert "test score [95% CI]" in (out / "summary.md").read_text()
    for png in ("add_progress.png", "add_progress_val.png", "add_pareto.png", "add_winner_lineage.png"):
        assert (out / "plots" / png).stat().st_size > 1000
    assert report.rows == json.loads((out / "summary.json").read_text())["rows"]

    from mlflow.tracking import MlflowClient
    client = MlflowClient(f"sqlite:///{tmp}/mlflow.db")
    exp = client.get_experiment_by_name("e2e")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 8  # baseline + 3 strategies, 2 seeds each
    parent = parents[0]
    assert parent.info.status == "FINISHED" and len(parent.data.tags["config_sha256"]) == 64
    assert "git_sha" in parent.data.tags
    parent_artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert "plots/add_progress.png" in parent_artifacts
    for child in children:
        assert child.info.status == "FINISHED" and child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        history = client.get_metric_history(child.info.run_id, "task_calls")
        steps = [m.step for m in history]
        assert steps == sorted(set(steps)) == list(range(len(steps)))
        assert len(steps) >= 1 or child.data.tags["strategy"] == "baseline"  # the baseline takes no step
        assert "test_score" in child.data.metrics and "total_task_calls" in child.data.metrics
        names = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"best_genome.json", "lineage.json", "strategy_report.json"} <= names
        if child.data.tags["strategy"] != "baseline":
            assert "cache_hit_rate" in child.data.metrics
            assert "best_val_score" in child.data.metrics and "best_train_score" in child.data.metrics
        assert not any(k.endswith("selection_score") and "/" not in k for k in child.data.metrics)
    evo_child = next(c for c in children if c.data.tags["strategy"] == "evolutionary")
    assert "evolutionary/quality_mean" in evo_child.data.metrics and "evolutionary/diversity" in evo_child.data.metrics
    assert evo_child.data.params["strategy.kind"] == "evolutionary" and evo_child.data.params["optimizer.kind"] == "scripted"
    # shared metric names mean the same for every strategy: the table's value is the seeds' mean
    for row in rows:
        mine = [c for c in children if c.data.tags["strategy"] == row["strategy"]]
        assert len(mine) == 2
        mean_test = sum(c.data.metrics["test_score"] for c in mine) / 2
        assert mean_test == pytest.approx(float(row["test_score"]), abs=1e-6), row["strategy"]
        assert parent.data.metrics[f"add/{row['strategy']}/test_score"] == pytest.approx(float(row["test_score"]))
    # the experiment opens on the runs table, and each run's winner is a registered prompt version
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    for child in children:
        name, version = child.data.tags["registered_prompt"].rsplit("/", 1)
        prompt = client.get_prompt_version(name, version)
        assert name == f"e2e.add.{child.data.tags['strategy']}"
        assert float(prompt.tags["test_score"]) == pytest.approx(child.data.metrics["test_score"], abs=1e-4)
        assert json.loads(prompt.tags["genome"])["instruction"] in json.dumps(prompt.template)
        assert prompt.template[-1]["role"] == "user" and "{{a}}" in prompt.template[-1]["content"]
    # API keys never reach params, tags or artifacts
    blob = json.dumps([r.data.to_dictionary() for r in runs])
    for child in children:
        for name in ("best_genome.json", "strategy_report.json"):
            blob += open(client.download_artifacts(child.info.run_id, name, str(tmp))).read()
    assert "sk-ant-secret" not in blob


def test_experiment_config_errors(tmp_path):
    from evo.errors import ConfigError
    from experiments.config import load_experiment
    base = tmp_path / "base.yaml"
    base.write_text("name: x\nsuites: [arithmetic]\nstrategies: {it: {kind: iterative}}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategies: {it: {n_candidatez: 3}}\n")
    with pytest.raises(ConfigError, match=r"base.yaml \+ .*bad.yaml: strategies.it.iterative.n_candidatez: unknown field"):
        load_experiment(base, [bad])
    bad.write_text("evaluator: {kind: dask}\n")
    with pytest.raises(ConfigError, match="evaluator.kind: unknown kind 'dask'"):
        load_experiment(base, [bad])
    bad.write_text("seeds: []\n")
    with pytest.raises(ConfigError, match="seeds: List should have at least 1 item"):
        load_experiment(base, [bad])
    ok = tmp_path / "ok.yaml"
    ok.write_text("budget: {max_calls: 50}\nstrategies: {it: {n_candidates: 1}}\n")
    cfg = load_experiment(base, [ok])
    assert cfg.budget.max_calls == 50 and cfg.strategies["it"].n_candidates == 1


def test_ablate_overlays_and_grid(experiment):
    from experiments.ablate import grid_overlays, run_ablation
    _, tmp = experiment
    cfg = write_experiment(tmp / "ablate_base.yaml", "e2e", f"{tmp}/add.yaml", max_calls=200, resamples=200)
    overlay = tmp / "one_candidate.yaml"
    overlay.write_text("strategies: {iterative: {n_candidates: 1}}\n")
    assert grid_overlays({"strategies.evolutionary.crossover_prob": [0.0, 0.5]})[1] == (
        "crossover_prob_0.5", {"strategies": {"evolutionary": {"crossover_prob": 0.5}}})
    report = run_ablation(cfg, [overlay], RunProgress(Console(file=open(tmp / "c.txt", "w"))),
                          grid={"strategies.evolutionary.crossover_prob": [0.0]},
                          backends={"task": keyword_task_model(), "optimizer": pure_optimizer()})
    variants = {r["variant"] for r in report.rows}
    assert variants == {"one_candidate", "crossover_prob_0.0"}
    out = tmp / "results" / "e2e-ablation"
    assert "| variant | suite | strategy |" in (out / "summary.md").read_text()
    assert (out / "plots" / "add_progress.png").stat().st_size > 1000
    resolved = yaml.safe_load((out / "one_candidate.config.yaml").read_text())
    assert resolved["strategies"]["iterative"]["n_candidates"] == 1


def test_parallel_runs_give_the_sequential_report(experiment):
    """Strategy x seed cells three at a time: the same rows, run dirs and MLflow child runs as one at a time."""
    import threading

    cfg, tmp = experiment
    backends = {"task": keyword_task_model(), "optimizer": pure_optimizer()}
    seen_threads = set()
    original = keyword_task_model().__class__.complete

    def spy(self, request):
        seen_threads.add(threading.current_thread().name.split("_")[0])
        return original(self, request)
    sequential = run_experiment(cfg, [], backends=backends, progress=RunProgress(Console(file=open(tmp / "a.txt", "w"))))
    parallel_cfg = tmp / "parallel.yaml"
    parallel_cfg.write_text(cfg.read_text().replace("name: e2e", "name: e2e-par") + "parallel_runs: 3\n")
    backends = {"task": keyword_task_model(), "optimizer": pure_optimizer()}
    backends["task"].__class__.complete = spy
    try:
        parallel = run_experiment(parallel_cfg, [], backends=backends, progress=RunProgress(Console(file=open(tmp / "b.txt", "w"))))
    finally:
        backends["task"].__class__.complete = original
    assert any(name.startswith("evo-cell") for name in seen_threads)  # the cells did run on the cell pool
    volatile = ("wall_s", "usd", "tokens")
    strip = lambda rows: [{k: v for k, v in r.items() if not any(x in k for x in volatile)} for r in rows]
    assert strip(parallel.rows) == strip(sequential.rows)
    from mlflow.tracking import MlflowClient
    client = MlflowClient(f"sqlite:///{tmp}/mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("e2e-par").experiment_id])
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(children) == 8 and all(r.info.status == "FINISHED" for r in runs)
    for child in children:  # no step logged twice or lost by concurrent writers
        steps = [m.step for m in client.get_metric_history(child.info.run_id, "task_calls")]
        assert steps == list(range(len(steps)))


def test_mlflow_params_are_what_the_runs_vary(tmp_path):
    """Core settings and what an ablation changes are params (the compare view highlights only them);
    the full config is an artifact; the cache path is a tag; the description is the experiment's note."""
    from mlflow.tracking import MlflowClient

    from experiments.ablate import run_ablation
    from tests.helpers import write_add_suite
    suite = write_add_suite(tmp_path, 6, 3, 3)
    cfg = tmp_path / "e.yaml"
    cfg.write_text(f"name: ab\ndescription: does one candidate do\nsuites: ['{suite}']\ntask_model: {{kind: scripted}}\n"
                   "optimizer: {kind: scripted}\nstrategies: {it: {kind: iterative}}\nbudget: {max_calls: 30}\n"
                   f"tracking: {{kind: mlflow, uri: 'sqlite:///{tmp_path}/m.db'}}\noutput_dir: '{tmp_path}/results'\n"
                   "bootstrap_resamples: 100\nbaseline: false\n")
    overlay = tmp_path / "one.yaml"
    overlay.write_text("strategies: {it: {kind: iterative, n_candidates: 1}}\n")
    run_ablation(cfg, [overlay], grid={"strategies.it.n_candidates": [2]},
                 backends={"task": keyword_task_model(), "optimizer": pure_optimizer()})
    client = MlflowClient(f"sqlite:///{tmp_path}/m.db")
    exp = client.get_experiment_by_name("ab-ablation")
    runs = client.search_runs([exp.experiment_id])
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert sorted(c.data.params["strategy.n_candidates"] for c in children) == ["1", "2"]
    for child in children:
        assert "cache" not in child.data.params and "cache" in child.data.tags
        assert len(child.data.params) < 20  # was ~300: every setting of the resolved config
        # the held-out score is in the run's name: the runs table shows it without picking a column
        assert child.info.run_name.startswith(f"test {child.data.metrics['test_score']:.3f} · ")
        assert "config" in {a.path for a in client.list_artifacts(child.info.run_id)}
    assert exp.tags.get("mlflow.note.content") == "does one candidate do"
