"""For scripts and notebooks: --json on optimize/compare, compare's overrides, DataFrames, dir(evo)."""
import json

import evo
from evo.cli.main import main
from tests.helpers import write_add_suite, write_experiment


def test_optimize_json_is_the_result_on_stdout(add_suite, tmp_path, capsys):
    cfg = tmp_path / "r.yaml"
    cfg.write_text("strategy: {kind: evolutionary, population_size: 4, keep: 2, generations: 1}\nbudget: {max_calls: 40}\n"
                   "task_model: {kind: scripted, default: '3'}\noptimizer: {kind: scripted}\ncache: false\n")
    code = main(["optimize", str(add_suite), "--config", str(cfg), "--run-dir", str(tmp_path / "run"), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)  # nothing but the JSON on stdout
    assert data["run_dir"] == str(tmp_path / "run") and set(data) >= {"before", "after", "recommendation"}
    assert "before → after" in captured.err


def test_compare_overrides_and_json(tmp_path, capsys):
    suite = write_add_suite(tmp_path, 6, 3, 3)
    cfg = write_experiment(tmp_path / "e.yaml", "ov", suite, max_calls=500)
    code = main(["compare", str(cfg), "--max-calls", "30", "--seeds", "0,1", "--output-dir", str(tmp_path / "o"),
                 "--json", "--no-mlflow"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["dir"] == str(tmp_path / "o" / "ov")
    assert {r["seeds"] for r in report["rows"]} == {2} and all(r["task_calls"] <= 30 for r in report["rows"])


def test_dataframes_and_the_api_in_dir(add_suite, tmp_path):
    result = evo.optimize(str(add_suite), {"strategy": {"kind": "baseline"}, "task_model": {"kind": "scripted",
                          "default": "3"}, "optimizer": {"kind": "scripted"}, "cache": False},
                          run_dir=tmp_path / "run", env={})
    frame = result.to_dataframe()
    assert set(frame["prompt"]) == {"seed", "winner"} and set(frame["split"]) == {"train", "val", "test"}
    assert len(frame) == 2 * 10 and frame["score"].between(0, 1).all()
    assert {"optimize", "resume", "resolve_run", "RunSpec", "load_suite"} <= set(dir(evo))
