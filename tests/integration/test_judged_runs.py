"""Runs on suites with llm_judge checks: the judge model is bound by the session, its calls are charged
to the budget's ``judge`` role within ``max_calls``, shown in the estimate, and calibrated by
``evo judge-check`` against labels with a known answer."""
from __future__ import annotations

import json

import pytest

from evo.api import optimize
from evo.llm.scripted import ScriptedBackend
from tests.helpers import run_cli

SUITE = """name: judged
input_template: "{q}"
examples_file: judged.jsonl
judge_labels_file: labels.jsonl
pass_threshold: 0.75
checks:
  - {kind: llm_judge, mode: reference, scale: [1, 5]}
"""


def write_judged_suite(tmp_path, n: int = 12):
    rows = [{"id": f"q{i}", "input": {"q": f"question {i}"}, "expected": f"answer {i}"} for i in range(n)]
    (tmp_path / "judged.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    # the toy judge below scores 5 exactly when the output contains "good": 3 agreements and 1 disagreement
    labels = [("good summary", "pass"), ("bad summary", "fail"), ("also bad", "fail"), ("good but wrong", "fail")]
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(
        {"input": {"q": "question"}, "output": o, "expected": "x", "label": lab}) for o, lab in labels) + "\n")
    (tmp_path / "judged.yaml").write_text(SUITE)
    return tmp_path / "judged.yaml"


def toy_judge(request):
    response = request.messages[0][1].split("<response>\n", 1)[1].split("\n</response>", 1)[0]
    return json.dumps({"score": 5 if "good" in response else 1, "reason": "contains good" if "good" in response
                       else "no good"})


def test_an_optimize_run_charges_judge_calls_within_max_calls(tmp_path):
    suite = write_judged_suite(tmp_path)
    judge = ScriptedBackend(toy_judge, name="judge")
    task = ScriptedBackend(lambda r: "good answer" if "Be good" in (r.system + str(r.messages)) else "meh")
    optimizer = ScriptedBackend(lambda r: "Be good.")
    config = {"strategy": {"kind": "iterative", "n_candidates": 1, "max_train_iterations": 2, "max_val_iterations": 1},
              "budget": {"max_calls": 60}, "cache": False, "task_model": {"kind": "scripted"},
              "optimizer": {"kind": "scripted"}}
    result = optimize(str(suite), config, run_dir=tmp_path / "run", env={},
                      backends={"task": task, "optimizer": optimizer, "judge": judge})
    usage = result.to_json()["budget"]["usage"]
    assert usage["judge"]["calls"] > 0
    assert usage["judge"]["calls"] == usage["task"]["calls"] + usage["monitor"]["calls"]  # one judge call an output
    assert sum(u["calls"] for u in usage.values()) <= 60
    assert judge.calls >= usage["judge"]["calls"]  # plus the final scoring, which the budget does not pay


def test_the_estimate_counts_judge_calls(tmp_path):
    suite = write_judged_suite(tmp_path)
    code, out, err = run_cli(["optimize", str(suite), "--dry-run", "--max-calls", "100", "--json"])
    assert code == 0, err
    est = json.loads(out)["estimate"]
    assert est["judge_calls"] > 0 and est["task_calls"] * 1 == est["judge_calls"]


def test_judge_check_reports_agreement_with_labels(tmp_path, monkeypatch):
    suite = write_judged_suite(tmp_path)
    (tmp_path / "judge.yaml").write_text("kind: openai_compatible\nbase_url: http://127.0.0.1:9/v1\nmodel: m\n")
    from evo.evaluation.judge_calibration import calibrate
    from evo.tasks.loader import load_suite

    report = calibrate(load_suite(suite).with_judge(ScriptedBackend(toy_judge)))
    overall = report["overall"]
    assert overall["confusion"] == {"tp": 1, "fp": 1, "fn": 0, "tn": 2}
    assert overall["accuracy"] == pytest.approx(0.75)
    # kappa: observed 0.75; judge passes 2/4, human 1/4 -> chance 0.5*0.25 + 0.5*0.75 = 0.5 -> 0.5
    assert overall["kappa"] == pytest.approx(0.5)


def test_judge_check_cli_with_a_garbage_judge_counts_errors(tmp_path):
    from tests.fake_servers import ScriptedHTTPServer

    suite = write_judged_suite(tmp_path)
    with ScriptedHTTPServer("openai", responder=lambda body: "I think it is fine") as server:
        (tmp_path / "judge.yaml").write_text(f"kind: openai_compatible\nbase_url: {server.url}/v1\nmodel: m\n")
        code, out, err = run_cli(["judge-check", str(suite), "--judge-config", str(tmp_path / "judge.yaml"),
                                  "--no-cache", "--json"])
    assert code == 0, err
    report = json.loads(out)
    assert report["overall"]["errors"] == 4 and report["overall"]["confusion"]["tn"] == 3
    assert all("not JSON" in r["error"] for r in report["rows"])


def test_judge_check_refuses_a_suite_without_labels(tmp_path):
    from tests.helpers import write_add_suite

    code, _, err = run_cli(["judge-check", str(write_add_suite(tmp_path, 3, 1, 1))])
    assert code == 2 and "no llm_judge check" in err
