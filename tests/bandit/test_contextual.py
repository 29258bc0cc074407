"""Contextual Thompson sampling (``linear_ts``): the router learns a best prompt per feature value,
from the store's log, so another router (or a restart) routes the same way."""
from __future__ import annotations

import numpy as np
import pytest

from bandit.policies import LinearTSConfig, encode_features
from bandit.rollout import RolloutConfig
from bandit.router import Router
from bandit.store import ArmStore

BEST = {"en": "a", "fr": "b"}
CFG = LinearTSConfig(kind="linear_ts", features=["lang"], hash_dims=8)


def contextual(url: str, seed: int = 0) -> Router:
    return Router(ArmStore(url), CFG, seed=seed, refresh_s=1e9, rollout=RolloutConfig(enabled=False))


def test_encoding_is_documented_and_stable():
    x = encode_features({"lang": "en", "other": 3}, CFG)
    assert x[0] == 1.0 and x.sum() == 2.0 and x.shape == (9,)
    assert np.array_equal(x, encode_features({"lang": "en"}, CFG))
    numeric = LinearTSConfig(kind="linear_ts", features=["age"], hash_dims=4)
    assert encode_features({"age": 30}, numeric).sum() == 31.0
    assert encode_features({}, CFG).sum() == 1.0


def test_contextual_routing_learns_per_language_and_another_router_agrees(tmp_path):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    router = contextual(url)
    router.add_arm("a", {"instruction": "A"}, production=True)
    router.add_arm("b", {"instruction": "B"})
    rng = np.random.default_rng(0)
    for i in range(800):
        lang = ("en", "fr")[i % 2]
        d = router.route({"lang": lang})
        router.reward(d.decision_id, float(rng.random() < (0.85 if d.arm_id == BEST[lang] else 0.25)))
        if i % 100 == 99:
            router.refresh()  # what the periodic refresh does: refit the model from the store's log
    router.refresh()
    for r in (router, contextual(url, seed=9)):  # this router, and a fresh one on the same store
        r.refresh()
        en = [r.route({"lang": "en"}).arm_id for _ in range(60)]
        fr = [r.route({"lang": "fr"}).arm_id for _ in range(60)]
        assert en.count("a") > 48 and fr.count("b") > 48, (en.count("a"), fr.count("b"))
    logs = router.store.logs()
    assert all(0 < r["propensity"] <= 1 for r in logs)


def test_linear_ts_and_segments_do_not_mix(tmp_path):
    with pytest.raises(ValueError, match="without segments"):
        Router(ArmStore(f"sqlite:///{tmp_path / 's.sqlite'}"), CFG,
               rollout=RolloutConfig(enabled=False, segments={"by": ["lang"]}))
