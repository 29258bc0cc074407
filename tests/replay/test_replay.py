"""One run per strategy on the embedded model, replayed from recorded transcripts with no model call and
checked against its golden trajectory. A behaviour change fails loudly (an unseen request, or another
trajectory); if it is deliberate, re-record: ``RECORD_LLM=1 .venv/bin/python -m pytest tests/replay``."""
import json
import os
from pathlib import Path

import pytest

import evo
from evo.testing.transcripts import TranscriptBackend

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RECORD = os.environ.get("RECORD_LLM") == "1"
COMMON = {"budget": {"max_calls": 90}, "split_limits": {"train": 6, "val": 4, "test": 4}, "cache": False,
          "task_model": {"kind": "local"}, "optimizer": {"kind": "local"},
          "evaluator": {"kind": "threads", "workers": 1}, "seed": 0}
RUNS = {
    "iterative": {"kind": "iterative", "n_candidates": 2, "max_train_iterations": 2, "max_val_iterations": 1},
    # a prior of 2 leaves generation 0 a slot for an LLM operator (7 variants would fill a population of 4)
    "evolutionary": {"kind": "evolutionary", "population_size": 4, "keep": 2, "generations": 3, "target_score": None,
                     "extend_to_budget": False, "structural_prior": 2},
    "hybrid": {"kind": "hybrid", "evolution_share": 0.5,
               "evolutionary": {"population_size": 4, "keep": 2, "generations": 2, "target_score": None},
               "iterative": {"n_candidates": 1, "max_train_iterations": 1, "max_val_iterations": 1}},
    "baseline": {"kind": "baseline"},
}


def trajectory(result) -> dict:
    """The canonical trajectory: what a behaviour change must update deliberately."""
    return {
        "steps": [[s["step"], s["best_id"], s["best_train_score"], s["task_calls"], s["optimizer_calls"]]
                  for s in result.steps],
        "best_genome": result.best_genome.to_json(),
        "lineage": [[n["id"], n["operator"], n["parents"]] for n in result.lineage],
        "stop_reason": result.stop_reason,
        "after": result.after, "before": result.before,
    }


@pytest.mark.parametrize("kind", list(RUNS))
def test_replayed_run_matches_its_golden_trajectory(kind, tmp_path):
    task_file, opt_file = FIXTURES / "llm" / f"{kind}_task.json", FIXTURES / "llm" / f"{kind}_optimizer.json"
    golden_file = FIXTURES / "golden" / f"{kind}.json"
    if RECORD:
        from evo.llm.local import LocalBackend
        model = LocalBackend()
        task, optimizer = TranscriptBackend(task_file, inner=model), TranscriptBackend(opt_file, inner=model)
    else:
        task, optimizer = TranscriptBackend(task_file), TranscriptBackend(opt_file)
    result = evo.optimize("arithmetic", {**COMMON, "strategy": RUNS[kind]}, run_dir=tmp_path / "run",
                          backends={"task": task, "optimizer": optimizer}, env={})
    got = json.loads(json.dumps(trajectory(result)))
    if RECORD:
        task.save()
        optimizer.save()
        golden_file.parent.mkdir(parents=True, exist_ok=True)
        golden_file.write_text(json.dumps(got, indent=1) + "\n")
        return
    assert task.inner is None and optimizer.inner is None  # no model is reachable while replaying
    assert task.unseen == [] and optimizer.unseen == [], (task.unseen[:2], optimizer.unseen[:2])
    assert task.calls > 0 and (optimizer.calls > 0) == (kind != "baseline")  # the baseline asks no optimizer
    assert got == json.loads(golden_file.read_text())


def test_every_strategy_shipped_with_evo_has_a_golden_trajectory():
    """pymoo's golden coverage: a strategy added to evo without a recorded run fails here (plugins
    registered from outside evo/ bring their own tests)."""
    from evo.strategies.registry import STRATEGIES
    shipped = {kind for kind in STRATEGIES if STRATEGIES[kind].config.__module__.startswith("evo.")}
    assert shipped == set(RUNS), shipped ^ set(RUNS)
    for kind in shipped:
        assert (FIXTURES / "golden" / f"{kind}.json").is_file(), kind
        assert (FIXTURES / "llm" / f"{kind}_task.json").is_file(), kind
