"""Sticky subjects: a ``subject_id`` keeps its arm across requests, router restarts and router
processes sharing the store, until the TTL ends or the arm is retired or rolled back; and the bias
stickiness causes, measured."""
from __future__ import annotations

import httpx
import numpy as np
import pytest

from bandit.policies import BetaTSConfig, UniformConfig
from bandit.rollout import RolloutConfig
from bandit.router import Router
from bandit.store import ArmStore
from tests.fake_servers import start_router

NO_ROLLOUT = RolloutConfig(enabled=False)


def uniform_router(url: str, seed: int = 0, ttl_s: float = 3600.0) -> Router:
    return Router(ArmStore(url), UniformConfig(kind="uniform"), seed=seed, rollout=NO_ROLLOUT, sticky_ttl_s=ttl_s)


def with_arms(router: Router) -> Router:
    for i in range(4):
        router.add_arm(f"a{i}", {"instruction": f"Prompt {i}."}, production=i == 0)
    return router


def test_a_subject_keeps_its_arm_and_subjects_spread_over_arms(tmp_path):
    router = with_arms(uniform_router(f"sqlite:///{tmp_path / 's.sqlite'}"))
    first = {s: router.route(subject_id=f"user-{s}").arm_id for s in range(40)}
    assert len(set(first.values())) > 1  # assignments are random, not all one arm
    for _ in range(3):
        assert {s: router.route(subject_id=f"user-{s}").arm_id for s in range(40)} == first
    assert len({router.route().arm_id for _ in range(40)}) > 1  # without a subject: independent draws


def test_assignment_survives_a_restart_and_is_shared_by_another_router(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    router = with_arms(uniform_router(url, seed=1))
    first = {s: router.route(subject_id=f"u{s}").arm_id for s in range(30)}
    router.store.close()
    again = uniform_router(url, seed=99)  # another seed: a fresh draw would differ
    other = uniform_router(url, seed=7)
    assert {s: again.route(subject_id=f"u{s}").arm_id for s in range(30)} == first
    assert {s: other.route(subject_id=f"u{s}").arm_id for s in range(30)} == first


def test_retiring_the_arm_reassigns_its_subjects(tmp_path):
    router = with_arms(uniform_router(f"sqlite:///{tmp_path / 's.sqlite'}", seed=2))
    first = {s: router.route(subject_id=f"u{s}").arm_id for s in range(30)}
    moved = [s for s, arm in first.items() if arm == "a1"]
    assert moved
    router.retire_arm("a1")
    now = {s: router.route(subject_id=f"u{s}").arm_id for s in range(30)}
    assert all(now[s] != "a1" for s in moved)
    assert all(now[s] == first[s] for s in first if s not in moved)
    assert {s: router.route(subject_id=f"u{s}").arm_id for s in range(30)} == now  # sticky again


def test_an_expired_assignment_is_drawn_again(tmp_path):
    router = with_arms(uniform_router(f"sqlite:///{tmp_path / 's.sqlite'}", seed=3, ttl_s=1e-9))
    arms = {router.route(subject_id="u").arm_id for _ in range(30)}
    assert len(arms) > 1


def test_subject_ids_are_validated(tmp_path):
    router = with_arms(uniform_router(f"sqlite:///{tmp_path / 's.sqlite'}"))
    for bad in ("", "x" * 200, "a\nb"):
        with pytest.raises(ValueError, match="subject_id"):
            router.route(subject_id=bad)


def test_two_router_processes_agree_on_every_subject(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    seed = with_arms(uniform_router(url))
    seed.store.close()
    (base1, p1), (base2, p2) = (start_router(url, "tok", "--policy", "uniform", "--no-rollout"),
                                start_router(url, "tok", "--policy", "uniform", "--no-rollout"))
    try:
        with httpx.Client(timeout=10) as client:
            seen: dict[str, set] = {}
            for rep in range(3):
                for s in range(25):
                    base = (base1, base2)[(s + rep) % 2]  # alternate processes for the same subject
                    answer = client.post(base + "/route", json={"subject_id": f"s{s}"})
                    assert answer.status_code == 200, answer.text
                    seen.setdefault(f"s{s}", set()).add(answer.json()["arm_id"])
            assert all(len(arms) == 1 for arms in seen.values()), seen
            bad = client.post(base1 + "/route", json={"subject_id": "x" * 500})
            assert bad.status_code == 422
    finally:
        for p in (p1, p2):
            p.terminate()
            p.wait(10)


def test_stickiness_biases_per_decision_learning_when_subjects_differ():
    """Documented bias: subjects whose rewards differ (some always reward 1, some 0) stay on the arm
    they were assigned, so an arm's observed mean is its subjects' mean, not the arm's effect. Two
    identical arms end up with far more different observed means when routing is sticky."""
    def spread(sticky: bool, seed: int) -> float:
        rng = np.random.default_rng(seed)
        from bandit.policies import build_policy
        policy = build_policy(UniformConfig(kind="uniform"))
        policy.add_arm(), policy.add_arm()
        kind = rng.random(20) < 0.5  # 20 subjects: half always reward 1, half 0; arms are identical
        assigned = {}
        for _ in range(2000):
            s = int(rng.integers(20))
            arm = assigned.setdefault(s, policy.select(rng)) if sticky else policy.select(rng)
            policy.update(arm, float(kind[s]))
        means = policy.means()
        return abs(means[0] - means[1])
    sticky = np.mean([spread(True, s) for s in range(30)])
    free = np.mean([spread(False, s) for s in range(30)])
    assert sticky > 4 * free, (sticky, free)
    assert BetaTSConfig().kind == "beta_ts"
