"""Off-policy evaluation on logged stores with a known answer (propensities logged by the router)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bandit.ope import LoggedData, always, evaluate, evaluate_candidate, read_candidate
from bandit.policies import BetaTSConfig, UniformConfig
from bandit.rollout import RolloutConfig
from bandit.router import Router
from bandit.store import ArmStore


def logged(n: int = 4000, seed: int = 0, means=(0.3, 0.7), probs=(0.8, 0.2)):
    """Decisions logged by a fixed stochastic policy ``probs``; Bernoulli rewards with ``means``."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(len(probs), size=n, p=probs)
    reward = (rng.random(n) < np.asarray(means)[arm]).astype(float)
    return LoggedData(["a", "b"], arm, reward, np.asarray(probs)[arm], [{}] * n, 0)


def test_estimators_recover_the_value_of_a_rarely_logged_arm():
    data = logged()
    est = evaluate(always(1, data), None, data, resamples=300)["estimates"]
    for name in ("ips", "snips", "dr", "dm"):
        lo, hi = est[name]["ci95"]
        assert lo <= 0.7 <= hi, (name, est[name])
    assert abs(est["snips"]["value"] - 0.7) < 0.05


def test_coverage_of_snips_and_dr_over_seeds():
    """Out of 40 seeded logs of 2,000 decisions, the 95% intervals cover the truth at least 90% of the time."""
    covered = {"snips": 0, "dr": 0}
    for seed in range(40):
        data = logged(2000, seed)
        est = evaluate(always(1, data), None, data, resamples=200, seed=seed)["estimates"]
        for name in covered:
            lo, hi = est[name]["ci95"]
            covered[name] += lo <= 0.7 <= hi
    assert covered["snips"] >= 36 and covered["dr"] >= 36, covered


def test_effective_sample_size_shrinks_with_rare_arms():
    data = logged()
    assert evaluate(always(0, data), None, data, resamples=50)["ess"] > \
        evaluate(always(1, data), None, data, resamples=50)["ess"]


def test_router_logs_propensities_and_candidates_are_estimated_from_the_store(tmp_path):
    """Uniform routing over two prompts (propensity exactly 1/2), arm 'good' always rewarded 1, 'bad' 0:
    'always good' is worth 1, production ('bad') 0, and the candidate clears production."""
    store = ArmStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    router = Router(store, UniformConfig(kind="uniform"), seed=1, rollout=RolloutConfig(enabled=False))
    router.add_arm("bad", {"instruction": "Be vague."}, production=True)
    router.add_arm("good", {"instruction": "Be exact."})
    for _ in range(400):
        d = router.route({"lang": "en"})
        router.reward(d.decision_id, 1.0 if d.arm_id == "good" else 0.0)
    logs = store.logs()
    assert len(logs) == 400 and {r["propensity"] for r in logs} == {0.5}
    (tmp_path / "good.json").write_text(json.dumps({"instruction": "Be exact."}))
    result = evaluate_candidate(store, read_candidate(tmp_path / "good.json"), resamples=200)
    est = result["candidate_estimates"]["estimates"]
    assert est["snips"]["value"] == 1.0 and est["dr"]["value"] == pytest.approx(1.0, abs=0.02)
    assert result["production_estimates"]["estimates"]["snips"]["value"] == 0.0
    assert result["lift"] is True
    # a Thompson policy over the store's statistics prefers 'good' almost surely
    (tmp_path / "ts.yaml").write_text("kind: beta_ts\n")
    ts = evaluate_candidate(store, read_candidate(tmp_path / "ts.yaml"), resamples=100)
    assert ts["candidate_estimates"]["estimates"]["snips"]["value"] > 0.95
    store.close()


def test_a_never_served_genome_needs_a_reward_model(tmp_path):
    store = ArmStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    store.add_arm("p", {"instruction": "A"}, production=True)
    (tmp_path / "new.json").write_text(json.dumps({"instruction": "Never served."}))
    with pytest.raises(ValueError, match="never served"):
        evaluate_candidate(store, read_candidate(tmp_path / "new.json"))
    store.close()


def test_every_policy_logs_a_propensity(tmp_path):
    from bandit.policies import POLICIES

    for kind in POLICIES:
        store = ArmStore(f"sqlite:///{tmp_path / f'{kind}.sqlite'}")
        extra = {"features": ["lang"]} if kind == "linear_ts" else {}
        router = Router(store, POLICIES[kind].config.model_validate({"kind": kind, **extra}), seed=0,
                        rollout=RolloutConfig(enabled=False))
        router.add_arm("p", {"instruction": "A"}, production=True)
        router.add_arm("c", {"instruction": "B"})
        for _ in range(30):
            d = router.route({"lang": "en"})
            router.reward(d.decision_id, 1.0 if d.arm_id == "c" else 0.0)
        props = [r["propensity"] for r in store.logs()]
        assert len(props) == 30 and all(p is not None and 0 < p <= 1 for p in props), (kind, props)
        store.close()


def test_a_bad_candidate_file_is_a_one_line_error(tmp_path):
    from evo.errors import ConfigError

    (tmp_path / "x.yaml").write_text("foo: 1\n")
    with pytest.raises(ConfigError, match="neither a genome"):
        read_candidate(tmp_path / "x.yaml")
    (tmp_path / "p.yaml").write_text("kind: beta_ts\nprior_alpha: -1\n")
    with pytest.raises(ConfigError, match="prior_alpha"):
        read_candidate(tmp_path / "p.yaml")
    assert BetaTSConfig(kind="beta_ts").kind == "beta_ts"


def test_evaluate_offline_cli_and_deploy_require_ope_lift(tmp_path):
    from tests.helpers import run_cli

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    store = ArmStore(url)
    router = Router(store, UniformConfig(kind="uniform"), seed=2, rollout=RolloutConfig(enabled=False))
    router.add_arm("bad", {"instruction": "Be vague."}, production=True)
    router.add_arm("good", {"instruction": "Be exact."})
    for _ in range(200):
        d = router.route()
        router.reward(d.decision_id, 1.0 if d.arm_id == "good" else 0.0)
    store.close()
    (tmp_path / "good.json").write_text(json.dumps({"instruction": "Be exact."}))
    code, out, err = run_cli(["bandit", "evaluate-offline", "--store", url, "--candidate", str(tmp_path / "good.json"),
                              "--resamples", "100", "--json"])
    assert code == 0, err
    result = json.loads(out)
    assert result["lift"] and result["candidate_estimates"]["estimates"]["snips"]["value"] == 1.0
    code, out, err = run_cli(["bandit", "evaluate-offline", "--store", url, "--candidate", str(tmp_path / "good.json")])
    assert code == 0 and "SNIPS" in out and "lift" in out
    (tmp_path / "new.json").write_text(json.dumps({"instruction": "Something new."}))
    code, _, err = run_cli(["bandit", "evaluate-offline", "--store", url, "--candidate", str(tmp_path / "new.json")])
    assert code == 2 and "never served" in err


def test_forward_arm_means_never_see_the_decision_they_predict():
    from bandit.ope import forward_arm_means
    data = LoggedData(["a", "b"], np.array([0, 1, 0, 0, 1]), np.array([1.0, 0.0, 0.0, 1.0, 1.0]),
                      np.full(5, 0.5), [{}] * 5, 0)
    q = forward_arm_means(data)
    assert q[0].tolist() == [0.0, 0.0]            # nothing before the first decision
    assert q[1].tolist() == [1.0, 1.0]            # arm b unseen: the overall mean so far
    assert q[2].tolist() == [1.0, 0.0]
    assert q[4].tolist() == pytest.approx([2 / 3, 0.0])  # decision 4's own reward (1.0) is not in it


def test_intervals_cover_on_adaptive_thompson_logs():
    """Logs from Beta Thompson sampling learning as it logs (propensities from Policy.propensity): the
    SNIPS and DR intervals of 'always the best prompt' cover its true value in >= 85% of 60 seeded logs."""
    from bandit.policies import BetaTSConfig, build_policy

    means, covered = np.array([0.5, 0.6, 0.4]), {"snips": 0, "dr": 0}
    for seed in range(60):
        rng, prop_rng = np.random.default_rng(seed), np.random.default_rng([seed, 1])
        policy = build_policy(BetaTSConfig())
        for _ in means:
            policy.add_arm()
        arm, reward, prop = np.zeros(1500, int), np.zeros(1500), np.zeros(1500)
        for i in range(1500):
            arm[i] = policy.select(rng)
            prop[i] = policy.propensity(prop_rng, arm[i])
            reward[i] = float(rng.random() < means[arm[i]])
            policy.update(arm[i], reward[i])
        data = LoggedData(["a", "b", "c"], arm, reward, prop, [{}] * 1500, 0)
        est = evaluate(always(1, data), None, data, resamples=10, seed=seed)["estimates"]
        for name in covered:
            lo, hi = est[name]["ci95"]
            covered[name] += lo <= 0.6 <= hi
    assert covered["snips"] >= 51 and covered["dr"] >= 51, covered
