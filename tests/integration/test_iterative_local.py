"""The iterative strategy for real: the embedded model as task and optimizer model, two iterations."""
import pytest

from evo.run.session import Session
from evo.run.resolve import resolve
from evo.run.loop import OptimizationRun
from evo.run.spec import RunSpec
from evo.tasks.loader import load_suite

pytestmark = pytest.mark.model


def test_iterative_on_embedded_model(tmp_path):
    full = load_suite("arithmetic")
    keep = {s: [e for e in full.split(s)][:n] for s, n in (("train", 8), ("val", 6), ("test", 6))}
    suite = full.subset([e for s in ("train", "val", "test") for e in keep[s]])
    resolved = resolve(RunSpec.model_validate({
        "strategy": {"kind": "iterative", "n_candidates": 2, "max_train_iterations": 1, "max_val_iterations": 1,
                     "extend_to_budget": False},
        "budget": {"max_calls": 200}, "task_model": {"kind": "local"}, "optimizer": {"kind": "local"},
        "cache": False}), suite="arithmetic", env={})
    assert resolved.strategy.template == "iterative_compact_v1"  # resolved before the run, and logged as such
    with Session(resolved) as session:
        assert session.optimizer_backend is session.task_backend  # one model instance serves both roles
        parts = session.parts(resolved, suite)
        assert parts.strategy.config == resolved.strategy
        result = OptimizationRun(parts.strategy, parts.evaluator, parts.budget, parts.seed_genome).run()
    assert result.budget["usage"]["optimizer"]["calls"] >= 2
    iterations = result.strategy_report["iterations"]
    assert len(iterations) >= 1
    for rec in iterations:
        for cand in rec["candidates"]:
            assert cand["rejected"] or cand["train"] is not None  # every proposal evaluated or rejected with a reason
    assert result.after["val"]["pass_rate"] >= result.before["val"]["pass_rate"]
    assert 0 <= result.after["test"]["pass_rate"] <= 1 and result.after["test"]["n"] == 6
