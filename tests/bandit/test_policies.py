"""Policy conformance: convergence on a stationary simulation, seeded reproducibility, arms added and
retired at runtime, traffic shares, discounting, state round-trip."""
import numpy as np
import pytest

from bandit.policies import BetaTSConfig, EpsilonGreedyConfig, GaussianTSConfig, UCB1Config, UniformConfig, build_policy
from bandit.simulate import ArmSpec, compare_policies, simulate

BERNOULLI = [ArmSpec(mean=p) for p in (0.2, 0.5, 0.8)]
CFGS = {"beta_ts": BetaTSConfig(), "gaussian_ts": GaussianTSConfig(kind="gaussian_ts", noise_sd=0.5),
        "ucb1": UCB1Config(kind="ucb1"), "epsilon_greedy": EpsilonGreedyConfig(kind="epsilon_greedy")}


def run(cfg, probs, steps, seed=0):
    policy = build_policy(cfg)
    for _ in probs:
        policy.add_arm()
    rng, env = np.random.default_rng(seed), np.random.default_rng(seed + 1)
    for _ in range(steps):
        a = policy.select(rng)
        policy.update(a, float(env.random() < probs[a]))
    return policy


@pytest.mark.parametrize("name", list(CFGS))
def test_converges_on_stationary_arms(name):
    policy = run(CFGS[name], [0.2, 0.5, 0.8], 3000)
    assert policy.n[2] / policy.n.sum() > 0.75
    assert policy.summary()[2]["mean_reward"] == pytest.approx(0.8, abs=0.06)


@pytest.mark.parametrize("name", list(CFGS) + ["uniform"])
def test_seeded_runs_reproduce(name):
    cfg = CFGS.get(name, UniformConfig(kind="uniform"))
    a, b = simulate(cfg, BERNOULLI, 500, seed=4), simulate(cfg, BERNOULLI, 500, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, simulate(cfg, BERNOULLI, 500, seed=5)) or name == "ucb1"


@pytest.mark.parametrize("name", list(CFGS))
def test_arms_added_and_retired_at_runtime(name):
    policy = run(CFGS[name], [0.2, 0.5], 300)
    new = policy.add_arm()
    rng, env = np.random.default_rng(9), np.random.default_rng(10)
    probs = [0.2, 0.5, 0.9]
    for _ in range(1500):
        a = policy.select(rng)
        policy.update(a, float(env.random() < probs[a]))
    assert policy.n[new] > policy.n[0] and policy.n[new] > 500
    policy.retire_arm(new)
    picks = {policy.select(rng) for _ in range(300)}
    assert new not in picks
    for i in range(policy.n_arms):
        policy.retire_arm(i)
    with pytest.raises(ValueError, match="no active arms"):
        policy.select(rng)


def test_beta_ts_shares_and_posteriors():
    policy = run(BetaTSConfig(), [0.3, 0.7], 2000)
    shares = policy.shares(np.random.default_rng(0), 4000)
    assert shares.sum() == pytest.approx(1.0) and shares[1] > 0.9
    s = policy.summary()[1]
    assert s["posterior"] == "beta" and s["posterior_mean"] == pytest.approx(0.7, abs=0.05) and s["posterior_sd"] < 0.05


def test_gaussian_ts_on_continuous_rewards():
    arms = [ArmSpec(kind="gaussian", mean=m, sd=1.0) for m in (0.0, 0.5, 1.0)]
    regret = compare_policies({"g": CFGS["gaussian_ts"], "u": UniformConfig(kind="uniform")}, arms, 2000, 5)
    assert regret["g"][:, -1].mean() < 0.5 * regret["u"][:, -1].mean()


def test_discounting_tracks_drift():
    # the best arm changes halfway: a discounted policy follows it, a stationary one lags
    arms = [ArmSpec(mean=0.8, drift=-0.0002), ArmSpec(mean=0.4, drift=0.0002)]
    res = compare_policies({"stationary": BetaTSConfig(), "discounted": BetaTSConfig(discount=0.99)}, arms, 4000, 6)
    assert res["discounted"][:, -1].mean() < res["stationary"][:, -1].mean()


def test_state_round_trip():
    policy = run(BetaTSConfig(), [0.3, 0.7], 200)
    clone = build_policy(BetaTSConfig())
    clone.add_arm(), clone.add_arm()
    clone.load_state_dict(policy.state_dict())
    r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
    assert [policy.select(r1) for _ in range(50)] == [clone.select(r2) for _ in range(50)]


def test_regret_beats_uniform_and_ucb_on_the_benchmark_arms():
    arms = [ArmSpec(mean=p) for p in (0.50, 0.55, 0.60, 0.65, 0.70)]
    res = compare_policies({"ts": BetaTSConfig(), "uniform": UniformConfig(kind="uniform")}, arms, 3000, 4)
    assert res["ts"][:, -1].mean() < 0.5 * res["uniform"][:, -1].mean()
