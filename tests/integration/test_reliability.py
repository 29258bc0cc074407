"""Regression tests for the reliability defects: interrupted runs, resume, budgets, determinism, failures."""
import json

import pytest

from evo.cli.progress import RunProgress
import evo
from evo.run.session import Session
from evo.run.execute import load_resolved
from evo.tracking import InMemoryTracker
from tests.helpers import keyword_task_model, pure_optimizer

SPEC = {"strategy": {"kind": "evolutionary", "population_size": 4, "keep": 2, "generations": 4, "target_score": None},
        "budget": {"max_calls": 200}, "task_model": {"kind": "scripted"},
        "evaluator": {"kind": "threads", "workers": 1}}


def interrupt_after(step: int):
    def on_step(record):
        if record["step"] == step:
            raise KeyboardInterrupt
    return on_step


def test_ctrl_c_leaves_a_checkpoint_and_resume_uses_the_recorded_cache_and_models(add_suite, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    cache = tmp_path / "fresh.sqlite"  # does not exist yet: the normal case on a new machine
    tracker = InMemoryTracker()
    with pytest.raises(KeyboardInterrupt):
        evo.optimize(add_suite, {**SPEC, "cache": str(cache)}, run_dir=tmp_path / "run", tracker=tracker,
                     backends={"task": keyword_task_model(), "optimizer": pure_optimizer()},
                     on_step=interrupt_after(1))
    assert json.loads((tmp_path / "run" / "checkpoint.json").read_text())["steps_done"] == 2
    assert next(iter(tracker.runs.values()))["status"] == "KILLED"
    resolved, _ = load_resolved(tmp_path / "run")
    assert resolved.cache == str(cache) and resolved.optimizer.kind == "local"

    # a key set since the start must not switch the optimizer to Claude
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-set-later")
    with Session(resolved, backends={"task": keyword_task_model()}) as session:
        assert type(session.optimizer_backend.inner).__name__ == "LocalBackend"
    from evo.llm.cache import ResponseCache
    assert len(ResponseCache(cache)) > 0  # written before the interrupt
    result = evo.resume(tmp_path / "run", backends={"task": keyword_task_model(), "optimizer": pure_optimizer()})
    seed_train = result.final_batches["before"]["train"]  # evaluated before the interrupt, again after it
    assert seed_train.n_cached == seed_train.n
    assert json.loads((tmp_path / "run" / "config.json").read_text())["resolved"]["optimizer"]["kind"] == "local"


def test_resume_with_a_recorded_claude_optimizer_and_no_key_is_a_one_line_error(add_suite, tmp_path, monkeypatch,
                                                                               capsys):
    from evo.cli.main import main
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-at-start")
    with pytest.raises(KeyboardInterrupt):
        evo.optimize(add_suite, {**SPEC, "cache": False}, run_dir=tmp_path / "run",
                     backends={"task": keyword_task_model(), "optimizer": pure_optimizer()},
                     on_step=interrupt_after(0))
    assert load_resolved(tmp_path / "run")[0].optimizer.kind == "anthropic"
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert main(["resume", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "ANTHROPIC_API_KEY: no Anthropic API key" in err


class JitteryLatency:
    """Wraps a backend; every response reports a random latency (noise no seed controls), as a real
    model's wall time would."""

    def __init__(self, inner):
        import random
        self.inner, self.fingerprint, self.max_concurrency = inner, inner.fingerprint, None
        self._random = random.Random()  # deliberately unseeded

    def flush(self):
        self.inner.flush()

    def complete(self, request):
        import dataclasses
        return dataclasses.replace(self.inner.complete(request), latency_s=self._random.uniform(0.01, 0.5))


@pytest.mark.parametrize("cache", [False, True])
def test_same_seed_same_summary_despite_latency_noise(tmp_path, cache):
    from rich.console import Console
    from experiments.runner import run_experiment
    from tests.integration.test_orchestration import quickstart_like
    cfg = quickstart_like(tmp_path, extra=f"cache: {str(cache).lower()}\ntracking: {{kind: none}}\n")
    text = cfg.read_text().replace("tracking: {kind: mlflow", "# tracking: {kind: mlflow")
    cfg.write_text(text)
    console = Console(file=open(tmp_path / "c.txt", "w"))
    reports = [run_experiment(cfg, progress=RunProgress(console), env={},
                              backends={"task": JitteryLatency(keyword_task_model()), "optimizer": pure_optimizer()})
               for _ in range(2)]
    assert reports[0].rows == reports[1].rows
    steps = [[(c.strategy, [s["best_id"] for s in c.result.steps]) for c in r.cells] for r in reports]
    assert steps[0] == steps[1]


def test_compare_survives_20pct_faults_and_counts_exactly_what_was_lost(tmp_path):
    """20% of the task model's requests fail (429/500/529, timeouts, garbage, non-string content): the
    comparison finishes, its failed-call counts equal the faults the retries did not recover, and a
    rerun on the same cache asks the server only for what failed."""
    from rich.console import Console
    from experiments.runner import run_experiment
    from tests.fake_servers import FaultyAdderServer
    from tests.helpers import write_add_suite
    suite = write_add_suite(tmp_path, 6, 4, 5)
    with FaultyAdderServer(rate=0.2, seed=7, slow_s=0.4) as server:
        cfg = tmp_path / "faulty.yaml"
        cfg.write_text(f"""
name: faulty
suites: ['{suite}']
task_model: {{kind: openai_compatible, base_url: '{server.url}', model: adder, timeout_s: 0.2, max_retries: 2}}
optimizer: {{kind: scripted, default: '<prompt>Give the number only.</prompt>'}}
strategies:
  # minibatch: 0 keeps whole-split evaluations, so some faults stay unrecovered until the rerun
  evolutionary: {{kind: evolutionary, population_size: 3, keep: 1, generations: 2, target_score: null,
                 extend_to_budget: false, minibatch: 0}}
  iterative: {{kind: iterative, n_candidates: 1, max_train_iterations: 1, max_val_iterations: 1,
              extend_to_budget: false, minibatch: 0}}
budget: {{max_calls: 80}}
evaluator: {{kind: threads, workers: 1}}
tracking: {{kind: none}}
output_dir: '{tmp_path}/results'
bootstrap_resamples: 100
cache_scope: shared
""")
        console = Console(file=open(tmp_path / "c.txt", "w"))
        first = run_experiment(cfg, progress=RunProgress(console), env={})
        injected = sum(1 for _, outcome in server.log if outcome != "ok")
        lost = server.unrecovered(max_retries=2)
        counted = sum(r["failed_task_calls"] for r in first.rows)
        assert injected > 10 and 0 < lost < injected  # retries recovered some faults, not all
        assert counted == lost, (counted, lost, injected)
        answered = {p for p, outcome in server.log if outcome == "ok"}

        n_before = len(server.log)
        again = run_experiment(cfg, progress=RunProgress(console), env={})
        rerun_prompts = {p for p, _ in server.log[n_before:]}
        assert rerun_prompts and not rerun_prompts & answered  # every earlier success came from the cache
        assert sum(r["failed_task_calls"] for r in again.rows) == server.unrecovered(2, start=n_before)


def test_an_unreachable_server_does_not_exit_0(add_suite, tmp_path, capsys):
    import socket
    from evo.cli.main import main
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"task_model: {{kind: openai_compatible, base_url: 'http://127.0.0.1:{port}', model: m, "
                   "max_retries: 0}\noptimizer: {kind: scripted}\nstrategy: {kind: iterative, n_candidates: 1}\n"
                   "budget: {max_calls: 30}\ncache: false\n")
    code = main(["optimize", str(add_suite), "--config", str(cfg), "--run-dir", str(tmp_path / "run")])
    captured = capsys.readouterr()
    assert code == 4, captured.err  # runtime failure, not a config error (evo/cli/main.py)
    assert "task-model calls all failed" in captured.err and "connection failed" in captured.err
    assert "the first 6 task-model calls" in captured.err  # the seed's baseline on train: no optimizer call spent


ORDER_STRATEGIES = {
    "evolutionary": "{kind: evolutionary, population_size: 4, keep: 2, generations: 2, target_score: null}",
    "hybrid": "{kind: hybrid, evolutionary: {population_size: 4, keep: 2, generations: 1, target_score: null},"
              " iterative: {n_candidates: 1, max_train_iterations: 1, max_val_iterations: 1}}"}


def run_in_order(tmp_path, order: list, cache_scope: str) -> dict:
    from rich.console import Console
    from experiments.runner import run_experiment
    from tests.helpers import write_add_suite
    suite = write_add_suite(tmp_path, 8, 4, 4)
    cfg = tmp_path / f"{order[0]}-{cache_scope}.yaml"
    cfg.write_text(f"name: order-{order[0]}-{cache_scope}\nsuites: ['{suite}']\ntask_model: {{kind: scripted}}\n"
                   "optimizer: {kind: scripted}\nstrategies:\n" + "".join(f"  {n}: {ORDER_STRATEGIES[n]}\n" for n in order)
                   + f"budget: {{max_calls: 120}}\ntracking: {{kind: none}}\noutput_dir: '{tmp_path}/results'\n"
                   f"bootstrap_resamples: 100\ncache_scope: {cache_scope}\n")
    report = run_experiment(cfg, progress=RunProgress(Console(file=open(tmp_path / "c.txt", "w"))), env={},
                            backends={"task": keyword_task_model(), "optimizer": pure_optimizer()})
    summary = {r["strategy"]: r for r in report.rows}
    summary["cache_hits"] = {c.strategy: sum(u["cached_calls"] for u in c.result.budget["usage"].values())
                             for c in report.cells}
    return summary


def test_run_order_changes_nothing_in_the_summary(tmp_path):
    """Each strategy has its own response cache (the default): running the strategies in reverse order
    gives the same summary, cache hits included. With one shared cache the strategy run second replays
    the first one's calls, and the figures depend on the order."""
    forward = run_in_order(tmp_path, ["evolutionary", "hybrid"], "strategy")
    assert forward == run_in_order(tmp_path, ["hybrid", "evolutionary"], "strategy")
    shared = run_in_order(tmp_path, ["evolutionary", "hybrid"], "shared")
    assert shared["cache_hits"] != run_in_order(tmp_path, ["hybrid", "evolutionary"], "shared")["cache_hits"]


def test_sigterm_ends_a_run_killed_with_its_checkpoint(add_suite, tmp_path):
    """`kill PID` (SIGTERM) of `evo optimize --mlflow`: exit 143, checkpoint kept, the MLflow run KILLED, and
    the message names the run directory to resume."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path
    cfg = tmp_path / "r.yaml"
    cfg.write_text("task_model: {kind: scripted, default: '3', latency_s: 0.05}\noptimizer: {kind: scripted}\n"
                   "strategy: {kind: evolutionary, population_size: 4, keep: 2, generations: 50, target_score: null}\n"
                   "budget: {max_calls: 5000}\ncache: false\n")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/m.db"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "evo"), "optimize", str(add_suite), "--config", str(cfg),
                             "--run-dir", str(tmp_path / "run"), "--mlflow"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = tmp_path / "run" / "checkpoint.json"
    deadline = time.time() + 90
    while not checkpoint.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "interrupted" in err and "Traceback" not in err, err
    assert f"evo resume {tmp_path / 'run'}" in err
    assert checkpoint.exists() and not (tmp_path / "run" / "result.json").exists()
    from mlflow.tracking import MlflowClient
    client = MlflowClient(f"sqlite:///{tmp_path}/m.db")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert [r.info.status for r in runs] == ["KILLED"]
