"""kill -9 in the middle of a run, then resume: same result as an uninterrupted run, no duplicated
MLflow steps. The run executes in a real subprocess (scripted models, real SQLite cache, real MLflow)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


import evo
from evo.tracking import MlflowTracker
from tests.helpers import keyword_task_model, pure_optimizer, write_add_suite

ROOT = Path(__file__).resolve().parents[2]
DRIVER = '''
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
import evo
from evo.tracking import MlflowTracker
from tests.helpers import keyword_task_model, pure_optimizer

tmp, run_path, latency = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
spec = json.loads((tmp / "opt.json").read_text())
spec["cache"] = str(run_path.parent / (run_path.name + ".cache.sqlite"))
tracker = MlflowTracker("sqlite:///" + str(tmp / "mlflow.db"), "resume-test")
evo.optimize(str(tmp / "add.yaml"), spec, run_dir=run_path, tracker=tracker, env={{}},
             backends={{"task": keyword_task_model(latency_s=latency), "optimizer": pure_optimizer()}})
'''


def write_inputs(tmp: Path) -> None:
    write_add_suite(tmp, 10, 6, 8)
    (tmp / "opt.json").write_text(json.dumps({
        "strategy": {"kind": "evolutionary", "population_size": 6, "keep": 3, "generations": 8, "target_score": None,
                     "patience": 8, "min_diversity": 1, "extend_to_budget": False},
        "budget": {"max_calls": 5000}, "task_model": {"kind": "scripted"}, "optimizer": {"kind": "scripted"},
        "seed": 3, "evaluator": {"kind": "threads", "workers": 1},
        "final_pool": "halvings"}))  # the finalists recorded at halvings of the cap survive the kill too
    (tmp / "driver.py").write_text(DRIVER.format(root=str(ROOT)))


def start(tmp: Path, name: str, latency: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(tmp / "driver.py"), str(tmp), str(tmp / name), str(latency)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_and_resume_matches_uninterrupted_run(tmp_path):
    write_inputs(tmp_path)
    reference = start(tmp_path, "reference", 0.004)
    out, err = reference.communicate(timeout=240)
    assert reference.returncode == 0, err
    ref = json.loads((tmp_path / "reference" / "result.json").read_text())

    victim = start(tmp_path, "victim", 0.004)
    checkpoint = tmp_path / "victim" / "checkpoint.json"
    deadline = time.time() + 120
    while time.time() < deadline:
        if checkpoint.exists() and json.loads(checkpoint.read_text())["steps_done"] >= 3:
            break
        assert victim.poll() is None, victim.stderr.read()
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(30)
    assert not (tmp_path / "victim" / "result.json").exists()
    killed_at = json.loads(checkpoint.read_text())["steps_done"]
    assert killed_at < len(ref["steps"])

    # the same model behaviour as before the kill (latency is a measured objective, so it must match too)
    result = evo.resume(tmp_path / "victim", backends={"task": keyword_task_model(latency_s=0.004),
                                                       "optimizer": pure_optimizer()})
    meta = json.loads((tmp_path / "victim" / "config.json").read_text())
    tracker = MlflowTracker(meta["tracking"]["uri"], meta["tracking"]["experiment"])
    assert tracker.client.get_run(meta["tracker_run_id"]).info.status == "FINISHED"

    assert result.best_genome.id == ref["best_genome"]["id"]
    assert result.after == ref["after"]
    assert result.final_selection == ref["final_selection"] and len(ref["final_selection"]) > 3  # halvings' finalists
    assert [s["best_id"] for s in result.steps] == [s["best_id"] for s in ref["steps"]]
    assert [s["task_calls"] for s in result.steps] == [s["task_calls"] for s in ref["steps"]]
    lines = (tmp_path / "victim" / "steps.jsonl").read_text().splitlines()
    assert [json.loads(l)["step"] for l in lines] == list(range(len(ref["steps"])))
    history = tracker.client.get_metric_history(meta["tracker_run_id"], "task_calls")
    steps = sorted(m.step for m in history)
    assert steps == list(range(len(ref["steps"])))  # every step exactly once
    for key in ("best_train_score", "cache_hit_rate", "best_val_score"):  # none lost across the resume
        assert sorted(m.step for m in tracker.client.get_metric_history(meta["tracker_run_id"], key)) == steps, key


def test_resume_cli_refuses_finished_and_empty_runs(tmp_path, capsys):
    from evo.cli.main import main
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "result.json").write_text("{}")
    (tmp_path / "done" / "config.json").write_text("{}")
    assert main(["resume", str(tmp_path / "done")]) == 2
    assert "already finished" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["resume", str(tmp_path / "empty")]) == 2
    assert "not a run directory" in capsys.readouterr().err
    (tmp_path / "empty" / "config.json").write_text("{}")
    assert main(["resume", str(tmp_path / "empty")]) == 2
    assert "no checkpoint yet" in capsys.readouterr().err
    assert main(["resume", str(tmp_path / "missing")]) == 2
    assert "missing: no such run directory" in capsys.readouterr().err
