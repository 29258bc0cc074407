"""Segments: per-segment statistics in the store (shared by routers and kept across restarts),
shrinkage toward the rest of the traffic, a bounded number of segments, and routing that follows
each segment's best arm."""
from __future__ import annotations

import numpy as np
import pytest

from bandit.policies import BetaTSConfig
from bandit.rollout import RolloutConfig
from bandit.router import Router
from bandit.segments import SegmentConfig, segment_key, shrunk_state
from bandit.store import ArmStore

BEST = {"en": "a", "fr": "b"}  # the best prompt differs by language


def segmented(url: str, seed: int = 0, **segments) -> Router:
    rollout = RolloutConfig(enabled=False, segments={"by": ["lang"], **segments})
    return Router(ArmStore(url), BetaTSConfig(), seed=seed, refresh_s=1e9, rollout=rollout)


def feed(router: Router, n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    picks = []
    for i in range(n):
        lang = "en" if i % 2 == 0 else "fr"
        d = router.route({"lang": lang, "user": i})
        router.reward(d.decision_id, float(rng.random() < (0.8 if d.arm_id == BEST[lang] else 0.3)))
        picks.append((lang, d.arm_id))
    return picks


def test_segment_key_and_its_limits():
    cfg = SegmentConfig(by=["lang", "tier"], max_value_chars=5)
    assert segment_key({"lang": "en", "tier": "gold"}, cfg) == "lang=en|tier=gold"
    assert segment_key({"lang": "en"}, cfg) == "lang=en|tier="
    assert segment_key({"lang": "x" * 50 + "|\n"}, cfg) == "lang=xxxxx|tier="
    assert segment_key({"lang": "en"}, SegmentConfig()) is None


def test_shrinkage_starts_a_new_segment_at_the_rest_of_the_traffic():
    state = {"n": [100.0, 100.0], "s": [80.0, 60.0], "ss": [80.0, 60.0], "active": [True, True]}
    fresh = shrunk_state(state, {}, 20.0)  # a new segment: 20 pseudo-rewards at each arm's overall mean
    assert fresh["n"] == [20.0, 20.0] and fresh["s"] == pytest.approx([16.0, 12.0])
    # this segment gave arm 1 45 of 50; the rest of the traffic 15 of 50 (mean 0.3): 20 pseudo-rewards at 0.3
    own = shrunk_state(state, {1: (50.0, 45.0, 45.0)}, 20.0)
    assert own["n"][1] == 70.0 and own["s"][1] == pytest.approx(45.0 + 20 * 0.3)
    assert shrunk_state(state, {}, 500.0)["n"] == [100.0, 100.0]  # never more than the data there is


def test_routing_follows_each_segments_best_arm_and_the_store_keeps_it(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    router = segmented(url)
    router.add_arm("a", {"instruction": "A"}, production=True)
    router.add_arm("b", {"instruction": "B"})
    picks = feed(router, 1200)
    late = picks[-400:]
    for lang, best in BEST.items():
        share = np.mean([arm == best for g, arm in late if g == lang])
        assert share > 0.8, (lang, share)
    stats = router.store.segment_stats()
    assert set(stats) == {"lang=en", "lang=fr"}
    assert stats["lang=en"]["a"][0] > stats["lang=en"]["b"][0] and stats["lang=fr"]["b"][0] > stats["lang=fr"]["a"][0]
    # another router on the same store (another process, or this one restarted) routes the same way
    other = segmented(url, seed=5)
    assert other.store.segment_stats() == stats
    en = [other.route({"lang": "en"}).arm_id for _ in range(100)]
    fr = [other.route({"lang": "fr"}).arm_id for _ in range(100)]
    assert en.count("a") > 80 and fr.count("b") > 80


def test_a_global_policy_cannot_serve_both_segments(tmp_path):
    router = Router(ArmStore(f"sqlite:///{tmp_path / 'g.sqlite'}"), BetaTSConfig(), seed=0, refresh_s=1e9,
                    rollout=RolloutConfig(enabled=False))
    router.add_arm("a", {"instruction": "A"}, production=True)
    router.add_arm("b", {"instruction": "B"})
    late = feed(router, 1200)[-400:]
    right = np.mean([arm == BEST[lang] for lang, arm in late])
    assert right < 0.75, right  # one arm for everyone: right for about half the traffic


def test_segments_past_the_limit_route_as_other(tmp_path):
    router = segmented(f"sqlite:///{tmp_path / 's.sqlite'}", max_segments=3)
    router.add_arm("a", {"instruction": "A"}, production=True)
    for i in range(10):
        d = router.route({"lang": f"l{i}"})
        router.reward(d.decision_id, 1.0)
    assert len(router.store.segment_stats()) <= 4 and "other" in router.store.segment_stats()


def test_status_lists_the_segments(tmp_path):
    import json

    from tests.helpers import run_cli

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    router = segmented(url)
    router.add_arm("a", {"instruction": "A"}, production=True)
    router.add_arm("b", {"instruction": "B"})
    feed(router, 60)
    router.store.close()
    (tmp_path / "r.yaml").write_text("enabled: false\nsegments: {by: [lang]}\n")
    code, out, err = run_cli(["bandit", "status", "--store", url, "--rollout", str(tmp_path / "r.yaml")])
    assert code == 0 and "segments by lang: 2" in out, err
    code, out, _ = run_cli(["bandit", "status", "--store", url, "--rollout", str(tmp_path / "r.yaml"), "--json"])
    assert set(json.loads(out)["segments"]) == {"lang=en", "lang=fr"}


def test_two_router_processes_write_one_set_of_segment_statistics(tmp_path):
    """Rewards through two `evo bandit serve` processes land in the same per-segment rows, exactly."""
    import httpx

    from tests.fake_servers import start_router

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    first = segmented(url)
    first.add_arm("a", {"instruction": "A"}, production=True)
    first.add_arm("b", {"instruction": "B"})
    first.store.close()
    (tmp_path / "r.yaml").write_text("enabled: false\nsegments: {by: [lang]}\n")
    servers = [start_router(url, "tok", "--rollout", str(tmp_path / "r.yaml")) for _ in range(2)]
    sent: dict = {}
    try:
        with httpx.Client(timeout=10) as client:
            for i in range(120):
                base = servers[i % 2][0]
                lang = ("en", "fr", "de")[i % 3]
                d = client.post(base + "/route", json={"features": {"lang": lang}}).json()
                assert client.post(base + "/reward", json={"decision_id": d["decision_id"], "reward": 1.0}).status_code == 200
                key = (f"lang={lang}", d["arm_id"])
                sent[key] = sent.get(key, 0) + 1
    finally:
        for _, proc in servers:
            proc.terminate()
            proc.wait(10)
    stats = ArmStore(url).segment_stats()
    assert {(g, a): n for g, arms in stats.items() for a, (n, _, _) in arms.items()} == sent
