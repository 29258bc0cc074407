"""Store and router: exact counts under concurrent rewards (threads and processes), restart
persistence, at-most-once rewards, production arm always present."""
import multiprocessing as mp
from concurrent.futures import ThreadPoolExecutor

import pytest

from bandit.policies import BetaTSConfig
from bandit.router import ProductionArmRequired, Router
from bandit.store import ArmStore, DuplicateReward, UnknownArm, UnknownDecision


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path}/bandit.sqlite"


def make_router(url, seed=0):
    router = Router(ArmStore(url), BetaTSConfig(), seed=seed, refresh_s=0.05)
    if not router.store.arms():
        router.add_arm("prod", {"instruction": "A"}, production=True)
        router.add_arm("cand", {"instruction": "B"})
    return router


def test_rewards_at_most_once_and_unknown_rejected(url):
    router = make_router(url)
    d = router.route({"user": 1})
    assert router.reward(d.decision_id, 1.0) == d.arm_id
    with pytest.raises(DuplicateReward):
        router.reward(d.decision_id, 0.0)
    with pytest.raises(UnknownDecision):
        router.reward("nope", 1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        router.reward(router.route().decision_id, 2.0)
    arm = router.store.arm(d.arm_id)
    assert arm.n == 1 and arm.s == 1.0


def test_concurrent_thread_rewards_lose_no_update(url):
    router = make_router(url)
    decisions = [router.route() for _ in range(400)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda d: router.reward(d.decision_id, 1.0), decisions))
    arms = {a.id: a for a in router.store.arms()}
    assert sum(a.n for a in arms.values()) == 400 and sum(a.s for a in arms.values()) == 400
    per_arm = {}
    for d in decisions:
        per_arm[d.arm_id] = per_arm.get(d.arm_id, 0) + 1
    assert {k: arms[k].n for k in per_arm} == {k: float(v) for k, v in per_arm.items()}


def _reward_worker(url, decision_ids):
    router = Router(ArmStore(url), BetaTSConfig(), seed=1)
    for d in decision_ids:
        router.reward(d, 0.5)


def test_concurrent_process_rewards_lose_no_update(url):
    router = make_router(url)
    ids = [router.route().decision_id for _ in range(300)]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_reward_worker, args=(url, ids[i::3])) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    arms = router.store.arms()
    assert sum(a.n for a in arms) == 300 and sum(a.s for a in arms) == pytest.approx(150.0)
    counts = router.store.decision_counts()
    assert sum(c["rewarded"] for c in counts.values()) == 300


def test_restart_keeps_state(url):
    router = make_router(url)
    for _ in range(50):
        d = router.route()
        router.reward(d.decision_id, 1.0 if d.arm_id == "cand" else 0.0)
    before = {a.id: (a.n, a.s) for a in router.store.arms()}
    pending = router.route()
    again = make_router(url)  # a new process would do exactly this
    assert {a.id: (a.n, a.s) for a in again.store.arms()} == before
    again.reward(pending.decision_id, 1.0)  # a reward arriving after the restart still counts
    assert sum(a.n for a in again.store.arms()) == sum(n for n, _ in before.values()) + 1
    status = {r["arm_id"]: r for r in again.status()}
    assert status["cand"]["p_best"] > status["prod"]["p_best"]  # learned; traffic still capped by the rollout
    assert status["cand"]["share"] <= 0.1 and status["cand"]["stage"] == "1/3"


def test_production_arm_cannot_be_retired_alone_and_retired_arms_get_no_traffic(url):
    router = make_router(url)
    with pytest.raises(ProductionArmRequired):
        router.retire_arm("prod")
    with pytest.raises(UnknownArm):
        router.retire_arm("ghost")
    router.retire_arm("cand")
    assert {router.route().arm_id for _ in range(50)} == {"prod"}
    router.add_arm("cand", {"instruction": "B"})  # re-deploying reactivates it with its history
    assert router.store.arm("cand").active


def test_two_routers_sharing_a_store_converge(url):
    a, b = make_router(url, seed=1), make_router(url, seed=2)
    for i in range(200):
        r = a if i % 2 else b
        d = r.route()
        r.reward(d.decision_id, 1.0 if d.arm_id == "cand" else 0.0)
    a.refresh(), b.refresh()
    assert a.policy.state_dict() == b.policy.state_dict()
