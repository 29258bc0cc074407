"""The bad-input corpus: every file in ``tests/bad_inputs/<group>/`` is one malformed case, run through the
real CLI entry point (``evo.cli.main.main``) or a real ``evo bandit serve`` process.

A CLI case: ``argv`` (``{tmp}`` is the case's working directory), ``files`` (name -> text) or
``files_hex`` (name -> bytes as hex) written there first, ``rundir: killed`` to get a real interrupted
run directory at ``run/`` (whose files ``files`` may then overwrite), ``env`` (variables set for the
case), ``exit`` (default 2) and
``expect`` (a fragment the error line must contain). Asserted for each: that exit code, one error line
on stderr (argparse's usage line aside) containing ``expect``, no ``Traceback`` anywhere, no internal
error, and no half-written file (no ``*.tmp``, every ``.json`` parses).

An HTTP case: ``http: {method, path, json | content, auth}``, ``status`` and ``expect`` (in ``detail``).
Every working directory also holds a valid suite (``good.yaml`` + ``good.jsonl``), a scripted backend
(``llm.yaml``) and a valid run config (``ok_run.yaml``) for the cases to combine with their bad part.
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import httpx
import pytest
import yaml

HERE = Path(__file__).resolve().parent
CASES = sorted(p for p in HERE.glob("*/*.yaml"))
CLI_CASES = [p for p in CASES if p.parent.name != "http"]
HTTP_CASES = [p for p in CASES if p.parent.name == "http"]
TOKEN = "corpus-admin-token"

COMMON = {
    "good.yaml": "name: good\ninput_template: '{a} + {b}'\nexamples_file: good.jsonl\n"
                 "checks: [{kind: numeric, strict: true}]\nseed_prompt: {instruction: Add., max_tokens: 8}\n",
    "good.jsonl": "".join(json.dumps({"id": f"e{i}", "input": {"a": i, "b": 1}, "expected": str(i + 1),
                                      "split": "train" if i < 6 else "val" if i < 8 else "test"}) + "\n"
                          for i in range(10)),
    "llm.yaml": "kind: scripted\ndefault: '3'\n",
    "ok_run.yaml": "task_model: {kind: scripted, default: '3'}\noptimizer: {kind: scripted, default: "
                   "'<prompt>Give the number only.</prompt>'}\nstrategy: {kind: evolutionary, population_size: 3, "
                   "keep: 1, generations: 2, target_score: null, extend_to_budget: false}\nbudget: {max_calls: 60}\n"
                   "cache: false\nevaluator: {kind: threads, workers: 1}\n",
}


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 100, len(CASES)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    from evo.cli.main import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory) -> Path:
    """A real run directory of a run interrupted after its second step (checkpoint, no result)."""
    import evo
    tmp = tmp_path_factory.mktemp("killed")
    for name, text in COMMON.items():
        (tmp / name).write_text(text)

    def stop(record):
        if record["step"] == 1:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        evo.optimize(str(tmp / "good.yaml"), tmp / "ok_run.yaml", run_dir=tmp / "run", on_step=stop, env={})
    return tmp / "run"


def _materialize(case: dict, tmp: Path, killed_run: Path) -> None:
    for name, text in COMMON.items():
        (tmp / name).write_text(text)
    if case.get("rundir") == "killed":
        shutil.copytree(killed_run, tmp / "run")
    for name, text in (case.get("files") or {}).items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_text(text.replace("{tmp}", str(tmp)))
    for name, hexdata in (case.get("files_hex") or {}).items():
        (tmp / name).write_bytes(bytes.fromhex(hexdata))
    if case.get("setup"):
        SETUPS[case["setup"].split(":")[0]](tmp / case["setup"].split(":", 1)[1])


def _cache_of_schema_99(path: Path) -> None:
    import sqlite3
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '99')")


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


SETUPS = {  # ``setup: <name>:<path>`` in a case: files easier to make than to write out
    "schema99": _cache_of_schema_99,
    "state_version": lambda p: _edit_json(p, lambda d: d["strategy"].update(schema_version=99)),
    "resolved_bogus": lambda p: _edit_json(p, lambda d: d["resolved"].update(bogus=1)),
    "rm": lambda p: p.unlink(),
    "negative_calls": lambda p: _edit_json(p, lambda d: d["budget"]["usage"]["task"].update(calls=-1000)),
    "negative_steps": lambda p: _edit_json(p, lambda d: d.update(steps_done=-3)),
    "edit_resolved": lambda p: _edit_json(p, lambda d: d["resolved"]["budget"].update(max_calls=10_000)),
    "edit_suite": lambda p: p.write_text(p.read_text().replace('"expected": "3"', '"expected": "4"')),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", CLI_CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_cli_case(path: Path, tmp_path, monkeypatch, killed_run):
    case = yaml.safe_load(path.read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("EVO_CACHE", str(tmp_path / ".evo" / "cache.sqlite"))
    monkeypatch.delenv("EVO_LOCAL_THREADS", raising=False)  # --threads sets it: undone after the case
    for name, value in (case.get("env") or {}).items():
        monkeypatch.setenv(name, value)
    _materialize(case, tmp_path, killed_run)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in case["argv"]]
    code, out, err = run_cli(argv)
    assert "Traceback" not in out + err and "internal error" not in err, err
    assert code == case.get("exit", 2), (code, out[-500:], err)
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith(("usage:", "  "))]
    assert len(lines) == 1, err
    assert case["expect"] in lines[0], (case["expect"], lines[0])
    for leftover in tmp_path.rglob("*.tmp"):
        pytest.fail(f"half-written file left: {leftover}")
    planted = {tmp_path / n for n in [*(case.get("files") or {}), *(case.get("files_hex") or {})]}
    for data in tmp_path.rglob("*.json"):
        if data not in planted:
            json.loads(data.read_text())  # every JSON file evo wrote is whole


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from evo.genome import PromptGenome
    from tests.fake_servers import start_router
    tmp = tmp_path_factory.mktemp("corpus-http")
    base, proc = start_router(f"sqlite:///{tmp}/b.sqlite", TOKEN)
    httpx.post(base + "/arms", json={"arm_id": "prod", "genome": PromptGenome(instruction="Add.").to_json(),
                                     "production": True}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    yield base, proc
    proc.terminate()
    stderr = proc.communicate(timeout=10)[1].decode()
    assert "Traceback" not in stderr, stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", HTTP_CASES, ids=lambda p: f"http/{p.stem}")
def test_http_case(path: Path, server):
    base, _ = server
    case = yaml.safe_load(path.read_text())
    req = case["http"]
    headers = {"Authorization": f"Bearer {TOKEN}"} if req.get("auth") else {}
    kwargs = {"json": req["json"]} if "json" in req else {"content": req.get("content", "").encode(),
                                                           "headers": {**headers, "content-type": "application/json"}}
    kwargs.setdefault("headers", headers)
    if req.get("size"):
        kwargs = {"content": b'{"features": {"x": "' + b"a" * req["size"] + b'"}}',
                  "headers": {**headers, "content-type": "application/json"}}
    r = httpx.request(req.get("method", "POST"), base + req["path"], timeout=10, **kwargs)
    assert r.status_code == case["status"], r.text
    detail = json.dumps(r.json().get("detail"))
    assert case["expect"] in detail, detail
