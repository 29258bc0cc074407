"""Declared metrics: /feedback for decisions and episodes (once per metric), the objective as the
reward, guardrail rollback in a seeded simulation, and the control holdout."""
from __future__ import annotations

import httpx
import numpy as np
import pytest

from bandit.declared_metrics import MetricsConfig
from bandit.policies import BetaTSConfig
from bandit.rollout import RolloutConfig
from bandit.router import Router
from bandit.store import ArmStore, DuplicateFeedback, UnknownTarget
from tests.fake_servers import start_router

METRICS = {"declared": [
    {"name": "thumbs_up", "type": "boolean"},
    {"name": "task_success", "type": "boolean", "level": "episode"},
    {"name": "latency_ms", "type": "float", "direction": "minimize", "range": [0, 60000],
     "guardrail": {"max_degradation": 100, "probability": 0.95, "min_samples": 30}},
], "objective": "thumbs_up"}


def router_with(tmp_path, metrics=METRICS, **rollout) -> Router:
    cfg = RolloutConfig(enabled=False, metrics=metrics, **rollout)
    router = Router(ArmStore(f"sqlite:///{tmp_path / 's.sqlite'}"), BetaTSConfig(), seed=0, refresh_s=0.0, rollout=cfg)
    router.add_arm("prod", {"instruction": "P"}, production=True)
    router.add_arm("fast", {"instruction": "F"})
    return router


def test_objective_feedback_is_the_reward_and_other_metrics_are_counted(tmp_path):
    router = router_with(tmp_path)
    d = router.route()
    assert router.feedback("thumbs_up", 1, decision_id=d.decision_id) == {"decisions": 1, "rewarded": 1}
    assert router.feedback("latency_ms", 250.0, decision_id=d.decision_id)["rewarded"] == 0
    arm = router.store.arm(d.arm_id)
    assert (arm.n, arm.s) == (1.0, 1.0)
    assert router.store.metric_stats()[(d.arm_id, "latency_ms")] == (1.0, 250.0, 62500.0)
    with pytest.raises(DuplicateFeedback):
        router.feedback("thumbs_up", 0, decision_id=d.decision_id)
    with pytest.raises(UnknownTarget):
        router.feedback("latency_ms", 1.0, decision_id="nope")


@pytest.mark.parametrize("metric, value, kw, message", [
    ("unknown", 1, {"decision_id": "x"}, "unknown metric"),
    ("thumbs_up", 0.5, {"decision_id": "x"}, "boolean"),
    ("latency_ms", -5, {"decision_id": "x"}, "outside"),
    ("task_success", 1, {"decision_id": "x"}, "episode-level"),
    ("thumbs_up", 1, {}, "exactly one"),
])
def test_bad_feedback_is_refused_with_the_reason(tmp_path, metric, value, kw, message):
    router = router_with(tmp_path)
    with pytest.raises(ValueError, match=message):
        router.feedback(metric, value, **kw)


def test_episode_feedback_reaches_every_decision_of_the_episode(tmp_path):
    router = router_with(tmp_path)
    arms = [router.route(episode_id="conv-1").arm_id for _ in range(3)]
    router.route(episode_id="conv-2")
    assert router.feedback("task_success", 1, episode_id="conv-1") == {"decisions": 3, "rewarded": 0}
    stats = router.store.metric_stats()
    assert sum(stats.get((a, "task_success"), (0, 0, 0))[0] for a in {"prod", "fast"}) == 3
    assert sum(a == "fast" for a in arms) == stats.get(("fast", "task_success"), (0,))[0]
    with pytest.raises(DuplicateFeedback):
        router.feedback("task_success", 0, episode_id="conv-1")


def test_a_guardrail_breach_rolls_the_arm_back_in_a_seeded_simulation(tmp_path):
    """'fast' wins on the objective but is 300 ms slower: the latency guardrail (100 ms) rolls it back
    (a 10% holdout keeps measuring production, which Thompson sampling alone would starve)."""
    router = router_with(tmp_path, metrics={**METRICS, "holdout": 0.1})
    rng = np.random.default_rng(0)
    for _ in range(600):
        d = router.route()
        if router.store.arm("fast").stage < 0:
            break
        router.feedback("thumbs_up", int(rng.random() < (0.7 if d.arm_id == "fast" else 0.5)), decision_id=d.decision_id)
        router.feedback("latency_ms", float(rng.normal(600 if d.arm_id == "fast" else 300, 50)),
                        decision_id=d.decision_id)
    fast = router.store.arm("fast")
    assert fast.stage < 0
    event = [e for e in router.store.events("fast") if e["kind"] == "guardrail"][-1]
    assert event["detail"]["metric"] == "latency_ms" and event["detail"]["p_worse"] > 0.95
    assert {router.route().arm_id for _ in range(30)} == {"prod"}


def test_holdout_keeps_a_control_share_on_production(tmp_path):
    metrics = {**METRICS, "holdout": 0.2}
    router = router_with(tmp_path, metrics=metrics)
    rng = np.random.default_rng(1)
    for _ in range(500):
        d = router.route()
        router.feedback("thumbs_up", int(rng.random() < (0.8 if d.arm_id == "fast" else 0.3)), decision_id=d.decision_id)
    comparison = router.store.holdout_comparison()
    assert 60 <= comparison["holdout"]["rewarded"] <= 140  # ~20% of 500
    assert comparison["experiment"]["mean_reward"] > comparison["holdout"]["mean_reward"]
    props = [r["propensity"] for r in router.store.logs()]
    assert all(0 < p <= 1 for p in props)


def test_metrics_config_errors():
    with pytest.raises(ValueError, match="not a declared metric"):
        MetricsConfig(declared=[{"name": "a"}], objective="b")
    with pytest.raises(ValueError, match="unique"):
        MetricsConfig(declared=[{"name": "a"}, {"name": "a"}])


def test_feedback_over_http(tmp_path):
    import yaml

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    router_with(tmp_path).store.close()
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"enabled": False, "metrics": METRICS}))
    base, proc = start_router(url, "tok", "--rollout", str(tmp_path / "r.yaml"))
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            d = client.post("/route", json={"episode_id": "e1"}).json()
            ok = client.post("/feedback", json={"metric": "thumbs_up", "value": True, "decision_id": d["decision_id"]})
            assert ok.status_code == 200 and ok.json() == {"ok": True, "decisions": 1, "rewarded": 1}
            assert client.post("/feedback", json={"metric": "thumbs_up", "value": 1,
                                                  "decision_id": d["decision_id"]}).status_code == 409
            assert client.post("/feedback", json={"metric": "task_success", "value": 1,
                                                  "episode_id": "e1"}).json()["decisions"] == 1
            assert client.post("/feedback", json={"metric": "task_success", "value": 1,
                                                  "episode_id": "none"}).status_code == 404
            assert client.post("/feedback", json={"metric": "nope", "value": 1,
                                                  "decision_id": d["decision_id"]}).status_code == 422
            assert client.post("/reward", json={"decision_id": d["decision_id"], "reward": 1}).status_code == 409
    finally:
        proc.terminate()
        proc.wait(10)
