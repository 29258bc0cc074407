"""A shared MLflow tracking server (`mlflow server` on 127.0.0.1) written by several processes at once:
every run finishes with its own steps (none duplicated or lost), and artifacts land in the server's
artifact store, where any client can read them."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mlflow-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mlflow = Path(sys.executable).parent / "mlflow"
    proc = subprocess.Popen([str(mlflow), "server", "--backend-store-uri", f"sqlite:///{tmp}/server.db",
                             "--artifacts-destination", str(tmp / "artifacts"), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"],
                            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("mlflow server did not start")
    yield url, tmp / "artifacts"
    proc.terminate()
    proc.wait(20)


@pytest.mark.timeout(180)
def test_concurrent_processes_share_one_tracking_server(tracking_server, add_suite, tmp_path):
    url, artifacts = tracking_server
    cfg = tmp_path / "opt.yaml"
    cfg.write_text("strategy: {kind: evolutionary, population_size: 4, keep: 2, generations: 3, target_score: null}\n"
                   "budget: {max_calls: 120}\ntask_model: {kind: scripted, default: '4', latency_s: 0.002}\n"
                   "optimizer: {kind: scripted, default: '<prompt>Add.</prompt>'}\n")
    env = {**os.environ, "MLFLOW_TRACKING_URI": url}
    evo = Path(sys.executable).parent / "evo"
    procs = [subprocess.Popen([str(evo), "optimize", str(add_suite), "--config", str(cfg), "--seed", str(k),
                               "--run-dir", str(tmp_path / f"run{k}"), "--no-cache", "--mlflow"],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for k in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=150)
        assert p.returncode == 0, err.decode()[-2000:]

    from mlflow.tracking import MlflowClient
    client = MlflowClient(url)
    run_ids = [json.loads((tmp_path / f"run{k}" / "config.json").read_text())["tracker_run_id"] for k in range(3)]
    assert len(set(run_ids)) == 3
    for k, run_id in enumerate(run_ids):
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED" and run.data.params["seed"] == str(k)
        steps = [json.loads(line) for line in (tmp_path / f"run{k}" / "steps.jsonl").read_text().splitlines()]
        history = [m.step for m in client.get_metric_history(run_id, "task_calls")]
        assert history == [s["step"] for s in steps]  # every step once, none from another process
        local = client.download_artifacts(run_id, "best_genome.json", str(tmp_path))
        assert json.loads(Path(local).read_text()) == json.loads((tmp_path / f"run{k}" / "result.json").read_text())["best_genome"]
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # served by the server, not a client path
    stored = {p.name for p in artifacts.rglob("best_genome.json")}
    assert stored == {"best_genome.json"} and len(list(artifacts.rglob("best_genome.json"))) == 3
