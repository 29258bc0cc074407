"""Regression tests of issue 24's groups that are not a single malformed file (those live in
``tests/bad_inputs/``): run-directory ownership, secrets in artifacts, exit codes, names as paths,
corrupt or locked caches, and tiny suites. ``docs/security.md`` maps each defense to its test here."""
from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from evo.run.run_dir import RunDir
from tests.fake_servers import JsonHandler, LocalServer
from tests.helpers import run_cli, write_add_suite

SCRIPTED_RUN = ("task_model: {kind: scripted, default: '3'}\noptimizer: {kind: scripted, default: "
                "'<prompt>Give the number only.</prompt>'}\nstrategy: {kind: evolutionary, population_size: 3, "
                "keep: 1, generations: 2, target_score: null, extend_to_budget: false}\nbudget: {max_calls: 60}\n"
                "cache: false\nevaluator: {kind: threads, workers: 1}\n")


cli = run_cli


@pytest.fixture
def add_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = write_add_suite(tmp_path, 6, 2, 2)
    (tmp_path / "run.yaml").write_text(SCRIPTED_RUN)
    return suite, tmp_path / "run.yaml"


# ---- 5/6. run directories are owned ---------------------------------------------------------------------
def test_a_run_directory_in_use_is_refused_with_the_holders_pid(add_run, tmp_path):
    import os
    suite, cfg = add_run
    run = tmp_path / "run"
    run.mkdir()
    with RunDir(run).owned():  # another process optimizing here: the same flock
        code, _, err = cli(["optimize", suite, "--config", cfg, "--run-dir", run])
        assert code == 2 and f"pid {os.getpid()}" in err and "using this run directory" in err, err
    code, _, err = cli(["optimize", suite, "--config", cfg, "--run-dir", run])
    assert code == 0, err  # the lock went with its holder
    _killed(suite, cfg, tmp_path / "killed")
    with RunDir(tmp_path / "killed").owned():
        code, _, err = cli(["resume", tmp_path / "killed"])
        assert code == 2 and "using this run directory" in err, err


def test_two_processes_on_one_run_directory_one_is_refused(add_run, tmp_path):
    """Two real `evo optimize` processes started together: exactly one runs, the other is refused (not
    interleaved steps). Whichever wins, the result is one whole run."""
    import subprocess
    import sys
    suite, cfg = add_run
    run = tmp_path / "run"
    evo_bin = Path(sys.executable).parent / "evo"
    procs = [subprocess.Popen([str(evo_bin), "optimize", str(suite), "--config", str(cfg), "--run-dir", str(run)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    codes = sorted(p.returncode for p in procs)
    errs = " ".join(err for _, err in outs)
    # whichever order they run in, the second is refused: by the lock (overlapping), or because the
    # directory already holds the first's run (unfinished while it runs, finished after)
    assert codes == [0, 2], (codes, errs)
    assert any(why in errs for why in ("using this run directory", "already holds a finished run",
                                       "already holds an unfinished run")), errs
    steps = [json.loads(line) for line in (run / "steps.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps] == list(range(len(steps)))  # no interleaved duplicates
    assert json.loads((run / "result.json").read_text())


def test_force_overwrites_a_finished_run_and_keeps_other_files(add_run, tmp_path):
    suite, cfg = add_run
    run = tmp_path / "run"
    assert cli(["optimize", suite, "--config", cfg, "--run-dir", run])[0] == 0
    code, _, err = cli(["optimize", suite, "--config", cfg, "--run-dir", run])
    assert code == 2 and "already holds a finished run" in err and "--force" in err
    (run / "notes.txt").write_text("mine")
    code, _, err = cli(["optimize", suite, "--config", cfg, "--run-dir", run, "--force"])
    assert code == 0, err
    assert (run / "notes.txt").read_text() == "mine"


def _killed(suite, cfg, run, at_step=1):
    import evo

    def stop(record):
        if record["step"] == at_step:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        evo.optimize(str(suite), cfg, run_dir=run, on_step=stop, env={})


def test_a_torn_last_step_line_still_resumes_to_the_same_result(add_run, tmp_path):
    suite, cfg = add_run
    assert cli(["optimize", suite, "--config", cfg, "--run-dir", tmp_path / "whole"])[0] == 0
    run = tmp_path / "run"
    _killed(suite, cfg, run)
    with open(run / "steps.jsonl", "a") as fh:
        fh.write('{"step": 2, "strategy": "evol')  # a kill in the middle of appending a line
    code, _, err = cli(["resume", run])
    assert code == 0, err
    whole = json.loads((tmp_path / "whole" / "result.json").read_text())
    resumed = json.loads((run / "result.json").read_text())
    assert resumed["best_genome"] == whole["best_genome"] and resumed["after"] == whole["after"]


def test_a_suite_edited_between_kill_and_resume_is_named(add_run, tmp_path):
    suite, cfg = add_run
    run = tmp_path / "run"
    _killed(suite, cfg, run)
    rows = (tmp_path / "add.jsonl").read_text().splitlines()
    rows[3] = rows[3].replace('"expected": "', '"expected": "9')
    (tmp_path / "add.jsonl").write_text("\n".join(rows + [rows[0].replace('"e0"', '"e99"')]) + "\n")
    code, _, err = cli(["resume", run])
    assert code == 2 and "examples differ" in err and "1 changed (first: e3)" in err and "1 added (first: e99)" in err


def test_a_checkpoint_that_lowers_its_call_count_is_refused(add_run, tmp_path):
    suite, cfg = add_run
    run = tmp_path / "run"
    _killed(suite, cfg, run)
    data = json.loads((run / "checkpoint.json").read_text())
    data["budget"]["usage"]["task"]["calls"] = -1000
    (run / "checkpoint.json").write_text(json.dumps(data))
    code, _, err = cli(["resume", run])
    assert code == 2 and "checkpoint.json" in err and "calls" in err, err


def test_monitor_calls_are_counted_across_a_resume(tmp_path, monkeypatch):
    """``budget.monitor_val_calls`` counted only the calls since the last resume."""
    import evo
    monkeypatch.chdir(tmp_path)
    suite = write_add_suite(tmp_path, 6, 4, 2)
    cfg = tmp_path / "run.yaml"
    cfg.write_text("task_model: {kind: scripted, default: '3'}\noptimizer: {kind: scripted}\n"
                   "strategy: {kind: iterative, n_candidates: 1, max_train_iterations: 4}\n"
                   "budget: {max_calls: 200, monitor_val: true}\ncache: false\n")
    whole = evo.optimize(str(suite), cfg, run_dir=tmp_path / "whole", env={})
    _killed(suite, cfg, tmp_path / "run", at_step=2)
    resumed = evo.resume(tmp_path / "run")
    assert resumed.budget["monitor_val_calls"] == whole.budget["monitor_val_calls"] > 0


# ---- 3/4. names are not paths ---------------------------------------------------------------------------
def test_a_suite_name_that_is_a_path_stays_under_results(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = write_add_suite(tmp_path, 6, 2, 2)
    suite.write_text(suite.read_text().replace("name: add", "name: '../../../x'"))
    (tmp_path / "run.yaml").write_text(SCRIPTED_RUN)
    around = {p.name for p in tmp_path.parent.iterdir()}
    code, _, err = cli(["optimize", suite, "--config", tmp_path / "run.yaml"])
    assert code == 0, err  # slugged: the run directory is under results/runs
    assert {p.name for p in tmp_path.parent.iterdir()} == around  # nothing written next to tmp_path
    assert len(list((tmp_path / "results" / "runs").rglob("config.json"))) == 1


def test_child_path_never_leaves_its_root(tmp_path):
    from evo.paths import child_path, slug
    assert child_path(tmp_path, "a", "b").parent.parent == tmp_path
    for bad in ("..", "../x", "/etc", "a/../../b", ""):
        assert child_path(tmp_path, slug(bad)).resolve().is_relative_to(tmp_path.resolve())
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (tmp_path / "link").symlink_to(outside)  # a symlink inside the root pointing elsewhere
    with pytest.raises(ValueError):
        child_path(tmp_path, "link", "run")


# ---- 7. split hygiene -----------------------------------------------------------------------------------
def test_a_prompt_file_naming_a_test_example_is_refused(add_run, tmp_path):
    suite, _ = add_run
    (tmp_path / "g.json").write_text(json.dumps({"instruction": "Add.", "demo_ids": ["e0", "e9"]}))
    (tmp_path / "llm.yaml").write_text("kind: scripted\ndefault: '3'\n")
    code, _, err = cli(["eval", suite, "--llm-config", tmp_path / "llm.yaml", "--no-cache",
                        "--prompt-file", tmp_path / "g.json"])
    assert code == 2 and "e9" in err and "test" in err, err


# ---- 8. exit codes CI can trust -------------------------------------------------------------------------
def _dead_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_eval_exits_4_when_every_call_failed_and_honours_max_errors(add_run, tmp_path):
    suite, _ = add_run
    (tmp_path / "dead.yaml").write_text(f"kind: openai_compatible\nbase_url: 'http://127.0.0.1:{_dead_port()}'\n"
                                        "model: m\nmax_retries: 0\n")
    code, _, err = cli(["eval", suite, "--llm-config", tmp_path / "dead.yaml", "--no-cache"])
    assert code == 4 and "every" in err and "connection" in err, err
    with FlakyServer(every=3) as server:  # one call in three fails
        (tmp_path / "flaky.yaml").write_text(f"kind: openai_compatible\nbase_url: '{server.url}'\nmodel: m\n"
                                             "max_retries: 0\n")
        base = ["eval", suite, "--llm-config", tmp_path / "flaky.yaml", "--no-cache", "--split", "all"]
        assert cli(base)[0] == 0  # partial failure is allowed unless asked
        code, _, err = cli([*base, "--max-errors", "0"])
        assert code == 4 and "failed" in err, err
        assert cli([*base, "--max-errors", "0.5"])[0] == 0
        code, _, err = cli([*base, "--max-errors", "0.1"])
        assert code == 4, err


class FlakyServer(LocalServer):
    """OpenAI chat completions answering '3', except every ``every``-th request gets HTTP 400 whose body
    echoes the request's Authorization header (as some misconfigured proxies do)."""

    def __init__(self, every: int = 3):
        self.count = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(JsonHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with outer.lock:
                    outer.count += 1
                    n = outer.count
                if n % every == 0:
                    auth = self.headers.get("authorization", "")
                    return self._send(400, {"error": {"message": f"bad request for credentials {auth}",
                                                      "type": "invalid_request_error"}})
                self._send(200, {"id": "c", "object": "chat.completion", "model": body.get("model"),
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": "3"}}],
                                 "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}})

        self._start_server(Handler)


# ---- 5. secrets never stored ----------------------------------------------------------------------------
SECRET = "zq-live-5f3a9c2e7b1d4f6a8c0e2b4d6f8a0c2e"  # no known key shape: found only by its registered value


def test_a_key_echoed_by_the_server_reaches_no_artifact(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MY_PROVIDER_KEY", SECRET)
    suite = write_add_suite(tmp_path, 6, 2, 2)
    with FlakyServer(every=4) as server:
        model = (f"{{kind: openai_compatible, base_url: '{server.url}', model: m, max_retries: 0, "
                 "api_key_env: MY_PROVIDER_KEY}")
        (tmp_path / "run.yaml").write_text(f"task_model: {model}\noptimizer: {{kind: scripted}}\n"
                                           "strategy: {kind: iterative, n_candidates: 1}\nbudget: {max_calls: 40}\n"
                                           "cache: false\n")
        code, out, err = cli(["-v", "optimize", suite, "--config", tmp_path / "run.yaml", "--run-dir",
                              tmp_path / "run", "--mlflow"])
        assert code == 0, err
        (tmp_path / "exp.yaml").write_text(
            f"name: leak\nsuites: ['{suite}']\ntask_model: {model}\noptimizer: {{kind: scripted}}\n"
            "strategies: {i: {kind: iterative, n_candidates: 1}}\nbudget: {max_calls: 30}\ncache: false\n"
            f"tracking: {{kind: mlflow, uri: 'sqlite:///{tmp_path}/mlflow.db'}}\noutput_dir: '{tmp_path}/results'\n"
            "bootstrap_resamples: 100\n")
        code2, out2, err2 = cli(["compare", tmp_path / "exp.yaml"])
        assert code2 == 0, err2
    assert server.count >= 8  # errors were echoed, so the key was in play
    text = out + err + out2 + err2
    assert SECRET not in text
    scanned, redacted = 0, 0
    for path in tmp_path.rglob("*"):
        if path.is_file():
            scanned += 1
            data = path.read_bytes()
            assert SECRET.encode() not in data, path
            redacted += b"[REDACTED" in data
    assert scanned > 20 and redacted  # run record, results/, MLflow store and artifacts; the echo was kept, redacted


def test_api_key_env_must_be_a_variable_name_and_the_value_is_not_echoed(tmp_path):
    from evo.cli.main import main  # noqa: F401 - registers nothing; the error text itself must be redacted
    (tmp_path / "llm.yaml").write_text("kind: anthropic\napi_key_env: sk-ant-api03-" + "x" * 40 + "\n")
    suite = write_add_suite(tmp_path, 2, 1, 1)
    code, _, err = cli(["eval", suite, "--llm-config", tmp_path / "llm.yaml"])
    assert code == 2 and "api_key_env" in err and "sk-ant-api03-" + "x" * 40 not in err, err


def test_redaction_covers_registered_values_and_key_shapes():
    from evo.redact import redact, redact_obj, register_secret
    register_secret("hunter2-but-longer")
    text = "key sk-ant-api03-abcdefghijklmnopqrstuv and Bearer abc.def-ghi and hunter2-but-longer"
    clean = redact(text)
    assert "abcdefghijklmnopqrstuv" not in clean and "abc.def-ghi" not in clean and "hunter2" not in clean
    assert redact_obj({"a": [text]})["a"][0] == clean
    assert redact("nothing secret here") == "nothing secret here"


# ---- 10/12. corrupt rows are misses; a locked cache never loses the output -----------------------------
def test_corrupt_cache_rows_are_requeried_and_reported(add_run, tmp_path, caplog):
    suite, _ = add_run
    (tmp_path / "llm.yaml").write_text("kind: scripted\ndefault: '3'\n")
    args = ["eval", suite, "--llm-config", tmp_path / "llm.yaml", "--cache", tmp_path / "c.sqlite", "--json"]
    code, out, _ = cli(args)
    first = json.loads(out)
    with sqlite3.connect(tmp_path / "c.sqlite") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        table = next(t for t in tables if t != "meta")
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        value_col = next(c for c in cols if c in ("response", "value", "payload", "data"))
        conn.execute(f"UPDATE {table} SET {value_col} = 'not json {{'")  # every row corrupt
    code, out, err = cli(args)
    second = json.loads(out)
    assert code == 0 and second["cache"]["corrupt"] == first["cache"]["misses"] > 0
    same = lambda s: {k: v for k, v in s.items() if k != "wall_s"}  # noqa: E731
    assert same(second["summary"]) == same(first["summary"])  # re-queried, not failed
    assert "corrupt row(s) ignored and deleted" in caplog.text
    code, out, _ = cli(args)
    assert json.loads(out)["cache"]["hits"] == first["cache"]["misses"]  # rewritten whole


def test_a_locked_cache_runs_uncached_with_a_warning(add_run, tmp_path, monkeypatch, caplog):
    from evo.llm.cache import ResponseCache
    suite, _ = add_run
    (tmp_path / "llm.yaml").write_text("kind: scripted\ndefault: '3'\n")
    path = tmp_path / "c.sqlite"
    ResponseCache(path).flush()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing for a long time
    monkeypatch.setattr(ResponseCache.__init__, "__defaults__", (256, 0.5))  # flush_every, lock_timeout_s
    try:
        code, out, err = cli(["eval", suite, "--llm-config", tmp_path / "llm.yaml", "--cache", path, "--json"])
    finally:
        holder.rollback()
        holder.close()
    assert code == 0, err
    assert json.loads(out)["summary"]["n"] == 10 and "continuing without the cache" in caplog.text


# ---- 10. tiny suites -------------------------------------------------------------------------------------
def test_a_one_example_suite_runs_and_says_it_has_no_held_out_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text("name: x\ninput_template: '{a} + {b}'\nexamples_file: t.jsonl\n"
                                     "checks: [{kind: numeric}]\n")
    (tmp_path / "t.jsonl").write_text(json.dumps({"id": "e0", "input": {"a": 1, "b": 1}, "expected": "2"}) + "\n")
    (tmp_path / "run.yaml").write_text(SCRIPTED_RUN)
    code, out, err = cli(["optimize", tmp_path / "s.yaml", "--config", tmp_path / "run.yaml", "--run-dir",
                          tmp_path / "run"])
    assert code == 0, err
    assert "no val or test examples" in " ".join(out.split())
