"""Fixed-confidence winner declaration: the GLR stopping rule's error rate on a seeded batch of
experiments, and a router that declares, promotes and records the winner with its evidence."""
from __future__ import annotations

import numpy as np
import pytest

from bandit.policies import TopTwoTSConfig
from bandit.rollout import RolloutConfig
from bandit.router import Router
from bandit.store import ArmStore
from bandit.simulate import identify
from bandit.winner import WinnerConfig, glr_pair, verdict


def test_glr_is_zero_without_evidence_and_grows_with_data():
    assert glr_pair(100, 0.5, 100, 0.6) == 0.0  # the "leader" is worse: no evidence for it
    small, large = glr_pair(100, 0.6, 100, 0.5), glr_pair(1000, 0.6, 1000, 0.5)
    assert 0 < small < large and large == pytest.approx(10 * small, rel=0.01)
    assert glr_pair(1000, 0.6, 1000, 0.5, epsilon=0.05) < large  # epsilon-good asks less of the data


def test_verdict_waits_for_min_pulls_and_the_threshold():
    cfg = WinnerConfig(enabled=True, delta=0.05, min_pulls=50)
    assert not verdict([40, 40], [36, 4], cfg).stop  # clear, but under min_pulls
    v = verdict([400, 400], [360, 40], cfg)
    assert v.stop and v.leader == 0 and v.statistic > v.threshold
    assert not verdict([400, 400], [204, 196], cfg).stop


def test_error_rate_on_a_seeded_batch_stays_under_delta():
    """60 experiments on close arms (0.50 / 0.60 / 0.45) at delta 0.1: at most a handful wrong (the
    expected count at the bound is 6), and every experiment stops."""
    cfg = WinnerConfig(enabled=True, delta=0.1, min_pulls=20)
    results = [identify([0.50, 0.60, 0.45], cfg, seed=s, max_steps=50_000) for s in range(60)]
    wrong = sum(arm != 1 for arm, _ in results)
    assert all(arm >= 0 for arm, _ in results)
    assert wrong <= 6, wrong


def test_a_router_declares_promotes_and_records_the_winner(tmp_path):
    rollout = RolloutConfig(enabled=False, winner={"enabled": True, "delta": 0.05, "min_pulls": 30})
    router = Router(ArmStore(f"sqlite:///{tmp_path / 's.sqlite'}"), TopTwoTSConfig(kind="top_two_ts"), seed=0,
                    refresh_s=0.0, rollout=rollout)
    means = {"prod": 0.3, "mid": 0.5, "best": 0.8}
    for arm_id in means:
        router.add_arm(arm_id, {"instruction": arm_id}, production=arm_id == "prod")
    rng = np.random.default_rng(0)
    for _ in range(3000):
        if router.store.declared_winner():
            break
        d = router.route()
        router.reward(d.decision_id, float(rng.random() < means[d.arm_id]))
    declared = router.store.declared_winner()
    assert declared is not None and declared["arm_id"] == "best"
    assert declared["statistic"] > declared["threshold"] and declared["delta"] == 0.05
    arms = {a.id: a for a in router.store.arms()}
    assert arms["best"].production and arms["best"].active
    assert not arms["prod"].active and not arms["mid"].active  # on_stop: retire
    assert [e["kind"] for e in router.store.events("best")][-1] == "winner"
    assert router.experiment()["declared"]["arm_id"] == "best"
    assert {router.route().arm_id for _ in range(20)} == {"best"}
    router.add_arm("new", {"instruction": "new"})  # a new arm starts a new experiment
    assert router.experiment()["declared"] is None


def test_status_shows_the_stopping_statistic(tmp_path):
    from tests.helpers import run_cli

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    (tmp_path / "rollout.yaml").write_text("enabled: false\nwinner: {enabled: true, delta: 0.05, min_pulls: 5}\n")
    router = Router(ArmStore(url), TopTwoTSConfig(kind="top_two_ts"), seed=0,
                    rollout=RolloutConfig(enabled=False, winner={"enabled": True, "min_pulls": 5}))
    router.add_arm("p", {"instruction": "p"}, production=True)
    router.add_arm("c", {"instruction": "c"})
    for _ in range(20):
        d = router.route()
        router.reward(d.decision_id, 1.0 if d.arm_id == "c" else 0.0)
    router.store.close()
    code, out, err = run_cli(["bandit", "status", "--store", url, "--policy", "top_two_ts",
                              "--rollout", str(tmp_path / "rollout.yaml")])
    assert code == 0, err
    assert "GLR statistic" in out or "winner declared" in out
    code, out, err = run_cli(["bandit", "status", "--store", url, "--policy", "top_two_ts",
                              "--rollout", str(tmp_path / "rollout.yaml"), "--json"])
    import json
    assert json.loads(out)["experiment"] is not None
