"""The iterative strategy for real: the embedded model as task and optimizer model, two iterations."""
import pytest

from evo.optimize_config import OptimizeConfig
from evo.run_loop import OptimizationRun
from evo.tasks.loader import load_suite
from experiments.factory import build_run

pytestmark = pytest.mark.model


def test_iterative_on_embedded_model(tmp_path):
    full = load_suite("arithmetic")
    keep = {s: [e for e in full.split(s)][:n] for s, n in (("train", 8), ("val", 6), ("test", 6))}
    suite = full.subset([e for s in ("train", "val", "test") for e in keep[s]])
    config = OptimizeConfig.model_validate({
        "strategy": {"kind": "iterative", "n_candidates": 2, "max_train_iterations": 1, "max_val_iterations": 1},
        "budget": {"max_calls": 200}, "task_model": {"kind": "local"}, "optimizer": {"kind": "local"}})
    parts = build_run(config, suite)
    assert parts.optimizer_backend is parts.task_backend  # one model instance serves both roles
    assert parts.strategy.config.template == "iterative_compact_v1"
    result = OptimizationRun(parts.strategy, parts.evaluator, parts.budget, parts.seed_genome).run()
    assert result.budget["usage"]["optimizer"]["calls"] >= 2
    assert len(parts.strategy.records) >= 2
    for rec in parts.strategy.records:
        for cand in rec["candidates"]:
            assert cand["rejected"] or cand["train"] is not None  # every proposal evaluated or rejected with a reason
    assert result.after["val"]["pass_rate"] >= result.before["val"]["pass_rate"]
    assert 0 <= result.after["test"]["pass_rate"] <= 1 and result.after["test"]["n"] == 6
