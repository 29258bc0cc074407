"""`evo optimize` end to end with scripted task and optimizer models configured in YAML."""
import json

from evo.cli.main import main


def test_optimize_iterative_writes_run_record(add_suite, tmp_path, capsys):
    responses = "".join(f'    "Give the number only.\\n\\n{a} + {b}": "{a + b}"\n'
                        for a in range(10) for b in range(10))
    cfg = tmp_path / "opt.yaml"
    cfg.write_text(
        "strategy: {kind: iterative, n_candidates: 2, max_train_iterations: 2, max_val_iterations: 1}\n"
        "budget: {max_calls: 200}\n"
        "task_model:\n  kind: scripted\n  default: 'no idea'\n  responses:\n" + responses +
        "optimizer: {kind: scripted, default: '<change>bare number</change><prompt>Give the number only.</prompt>'}\n")
    run_dir = tmp_path / "run"
    code = main(["optimize", str(add_suite), "--config", str(cfg), "--run-dir", str(run_dir),
                 "--cache", str(tmp_path / "c.sqlite")])
    out = capsys.readouterr().out
    assert code == 0, out
    result = json.loads((run_dir / "result.json").read_text())
    assert result["before"]["test"]["pass_rate"] == 0.0 and result["after"]["test"]["pass_rate"] == 1.0
    assert result["best_genome"]["instruction"] == "Give the number only."
    steps = [json.loads(l) for l in (run_dir / "steps.jsonl").read_text().splitlines()]
    assert len(steps) == len(result["steps"]) >= 2
    assert json.loads((run_dir / "checkpoint.json").read_text())["steps_done"] == len(steps)
    assert json.loads((run_dir / "strategy_report.json").read_text())["iterations"][0]["accepted"] is True
    assert "before → after" in out and "held out" in out and "optimizer" in out
    # 2 of 2 validation examples won: not enough to tell, and the run says so
    assert result["recommendation"]["use_winner"] is False and result["recommendation"]["wins"] == 2
    flat = " ".join(out.split())
    assert "recommendation: keep the seed prompt" in flat and "add validation examples" in flat


def test_optimize_config_errors_name_the_field(add_suite, tmp_path, capsys):
    cfg = tmp_path / "opt.yaml"
    cfg.write_text("strategy: {kind: iterative, n_candidates: 50}\n")
    code = main(["optimize", str(add_suite), "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == 2 and "opt.yaml: strategy.iterative.n_candidates: Input should be less than or equal to 10" in err
    cfg.write_text("strategy: {kind: iterative}\nbudgett: {max_calls: 3}\n")
    assert main(["optimize", str(add_suite), "--config", str(cfg)]) == 2
    assert "opt.yaml: budgett: unknown field" in capsys.readouterr().err


def test_progress_moves_inside_long_steps(add_suite, tmp_path):
    """Every evaluated example reaches the progress display, with its phase, not only step ends."""
    import io
    import threading

    from rich.console import Console

    import evo
    from evo.cli.progress import RunProgress
    from tests.helpers import keyword_task_model, pure_optimizer

    phases, lock = [], threading.Lock()

    def on_call(phase):
        with lock:
            phases.append(phase)
    steps = []
    result = evo.optimize(add_suite, {"strategy": {"kind": "evolutionary", "population_size": 4, "keep": 2,
                                                   "generations": 1, "target_score": None},
                                      "budget": {"max_calls": 60}, "cache": False,
                                      "task_model": {"kind": "scripted"}, "optimizer": {"kind": "scripted"}},
                          run_dir=tmp_path / "run", env={}, on_step=steps.append, on_call=on_call,
                          backends={"task": keyword_task_model(), "optimizer": pure_optimizer()})
    assert phases.count("optimizing") >= steps[-1]["task_calls"] + steps[-1]["monitor_calls"] > 0
    assert phases.count("final scoring") > 0 and phases[-1] == "final scoring"
    # the final scoring says its size, exactly once the final choice is made: its count ends on it
    finals = [p for p in phases if p == "final scoring"]
    assert all(p.total is not None for p in finals) and finals[-1].total == len(finals)
    assert result.after["test"]["n"] > 0
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    with RunProgress(console) as progress:
        progress.start("add/evolutionary", 60)
        progress.on_call("optimizing")
        progress.on_step(steps[0])
        import time
        time.sleep(0.11)
        progress.on_call("final scoring")
    assert "final 1" in out.getvalue() and "add/evolutionary" in out.getvalue()
