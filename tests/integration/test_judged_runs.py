"""Runs on suites with llm_judge checks: the judge model is bound by the session, its calls are charged
to the budget's ``judge`` role within ``max_calls``, shown in the estimate, and calibrated by
``evo judge-check`` against labels with a known answer."""
from __future__ import annotations

import json

import pytest

from evo.api import optimize
from evo.llm.scripted import ScriptedBackend
from evo.testing.toys import tagged
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
    optimizer = ScriptedBackend(lambda r: tagged("Be good."))
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


def test_final_samples_report_pass_at_k_and_flaky_examples(tmp_path):
    """A task model that passes odd-numbered samples of some examples: those are flaky, and pass@3 /
    pass^3 follow from the known counts."""
    from tests.helpers import write_add_suite

    suite = write_add_suite(tmp_path, 4, 2, 4)

    def answer(request):
        text = request.messages[-1][1]
        a, b = (int(x) for x in text.rsplit("\n", 1)[-1].split(" + "))
        flaky = a % 2 == 1  # examples with an odd first number pass only on odd samples
        return str(a + b) if not flaky or request.sample_index % 2 == 1 else "no"
    task = ScriptedBackend(answer)
    config = {"strategy": {"kind": "baseline"}, "budget": {"max_calls": 20}, "cache": False, "final_samples": 3,
              "task_model": {"kind": "scripted"}, "optimizer": {"kind": "scripted"}}
    result = optimize(str(suite), config, run_dir=tmp_path / "run", env={},
                      backends={"task": task, "optimizer": ScriptedBackend(lambda r: "x")})
    stats = result.repeats["after"]
    test_ids = [r.example_id for r in result.test_records]
    odd = {r.example_id for r in result.test_records if int(r.input_text.split(" + ")[0]) % 2 == 1}
    assert stats["k"] == 3 and set(stats["flaky"]) == odd and 0 < len(odd) < len(test_ids)
    # an odd example passes 1 of its 3 samples (index 1): pass@3 = 1, pass^3 = 0
    assert stats["pass_at_k"] == 1.0
    assert stats["pass_all_k"] == pytest.approx(1 - len(odd) / len(test_ids))
    assert result.to_json()["repeats"]["after"]["flake_rate"] == pytest.approx(len(odd) / len(test_ids))


def test_compare_with_final_samples_shows_pass_at_k_columns(tmp_path):
    from tests.helpers import write_add_suite, write_experiment

    suite = write_add_suite(tmp_path, 4, 2, 3)
    config = write_experiment(tmp_path / "exp.yaml", "sampled", suite, max_calls=20,
                              strategies="  evolutionary: {kind: evolutionary, population_size: 2, keep: 1, "
                                         "generations: 1, target_score: null}\n")
    config.write_text(config.read_text() + "final_samples: 2\n")
    code, out, err = run_cli(["compare", str(config)])
    assert code == 0, err
    assert "pass@2" in out and "pass^2" in out
    summary = (tmp_path / "results" / "sampled" / "summary.md").read_text()
    assert "| pass@2 | pass^2 | flaky |" in summary
    assert "pass@2" in (tmp_path / "results" / "sampled" / "report.html").read_text()


def test_compare_judges_winners_pairwise_with_a_win_rate(tmp_path):
    """The optimized prompt makes the task model answer (the seed prompt gets "0"); the toy judge
    prefers any answer over "0": iterative's winner wins where their answers differ, ties elsewhere."""
    from experiments.runner import compare
    from tests.helpers import write_add_suite

    suite = write_add_suite(tmp_path, 4, 2, 3)

    def task_answer(request):
        a, b = (int(x) for x in request.messages[-1][1].rsplit("\n", 1)[-1].split(" + "))
        return str(a + b) if "Be exact" in (request.system + str(request.messages)) else "0"

    def pairwise(request):
        prompt = request.messages[0][1]
        a = prompt.split("<response_A>\n", 1)[1].split("\n</response_A>", 1)[0]
        b = prompt.split("<response_B>\n", 1)[1].split("\n</response_B>", 1)[0]
        return json.dumps({"winner": "tie" if a == b else "B" if a == "0" else "A", "reason": "0 is no answer"})
    (tmp_path / "exp.yaml").write_text(
        f"name: judged\nsuites: ['{suite}']\ntask_model: {{kind: scripted}}\noptimizer: {{kind: scripted}}\n"
        "strategies:\n  iterative: {kind: iterative, n_candidates: 1, max_train_iterations: 1, max_val_iterations: 1}\n"
        f"budget: {{max_calls: 30}}\ntracking: {{kind: none}}\noutput_dir: '{tmp_path}/results'\n"
        "bootstrap_resamples: 100\njudge_pairs: [[iterative, baseline]]\ncache: false\n")
    report = compare(tmp_path / "exp.yaml", backends={
        "task": ScriptedBackend(task_answer), "optimizer": ScriptedBackend(lambda r: tagged("Be exact.")),
        "judge": ScriptedBackend(pairwise)}, env={})
    (row,) = report.judged_pairs
    assert (row["a"], row["b"], row["comparisons"]) == ("iterative", "baseline", 3)
    answers = {c.strategy: [r.answer for r in c.result.test_records] for c in report.cells}
    better = sum(a != b for a, b in zip(answers["iterative"], answers["baseline"]))
    assert better > 0  # the optimized prompt answers
    assert row["a_wins"] == better and row["ties"] == 3 - better and row["b_wins"] == 0
    assert row["win_rate_a"] == pytest.approx((better + 0.5 * (3 - better)) / 3) and row["judge_calls"] == 6
    assert "win rate of a" in (tmp_path / "results" / "judged" / "summary.md").read_text()


def test_judge_pairs_must_name_strategies(tmp_path):
    from tests.helpers import write_add_suite, write_experiment

    config = write_experiment(tmp_path / "exp.yaml", "bad", write_add_suite(tmp_path, 3, 1, 1), max_calls=10)
    config.write_text(config.read_text() + "judge_pairs: [[iterative, nope]]\n")
    code, _, err = run_cli(["compare", str(config)])
    assert code == 2 and "judge_pairs names 'nope'" in err
