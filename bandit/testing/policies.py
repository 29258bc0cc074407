"""``PolicyConformance``: the contract every bandit policy keeps, as a test class to subclass (pytest).

Set ``policy_config`` (a mapping with ``kind``). ``learns = False`` for a policy that ignores rewards
(the uniform baseline); ``best_share``: the share of late decisions the best arm must win (0.5; a
best-arm identification policy such as top-two TS serves its challenger half the time).
"""
from __future__ import annotations

import json

import numpy as np


class PolicyConformance:
    policy_config: dict = {}
    learns = True
    best_share = 0.5  # share of late decisions the best arm must get (identification policies split more)
    means = (0.2, 0.8, 0.5)

    def make_policy(self, arms: int = 3):
        from pydantic import TypeAdapter

        from bandit.policies import PolicyConfig, build_policy

        policy = build_policy(TypeAdapter(PolicyConfig).validate_python(self.policy_config))
        for _ in range(arms):
            policy.add_arm()
        return policy

    def feed(self, policy, rng, steps: int):
        choices = []
        for _ in range(steps):
            i = policy.select(rng)
            choices.append(i)
            policy.update(i, float(rng.random() < self.means[i]))
        return choices

    def test_selects_an_active_arm(self):
        policy = self.make_policy()
        rng = np.random.default_rng(0)
        assert all(0 <= policy.select(rng) < 3 for _ in range(50))

    def test_select_stays_within_allowed_arms(self):
        """The router passes the arms its rollout caps admit; the policy must choose among them."""
        policy = self.make_policy()
        rng = np.random.default_rng(4)
        self.feed(policy, rng, 100)
        assert {policy.select(rng, [0, 2]) for _ in range(200)} <= {0, 2}
        assert {policy.select(rng, [1]) for _ in range(20)} == {1}

    def test_posterior_draws_shape_and_order(self):
        policy = self.make_policy()
        rng = np.random.default_rng(5)
        for _ in range(300):  # enough evidence on every arm for the means to order the draws
            for i in range(3):
                policy.update(i, float(rng.random() < self.means[i]))
        draws = policy.posterior_draws(np.random.default_rng(6), 500)
        assert draws.shape == (3, 500) and np.isfinite(draws).all()
        means = draws.mean(axis=1)
        assert list(np.argsort(means)) == list(np.argsort(self.means))

    def test_same_seed_same_choices(self):
        a = self.feed(self.make_policy(), np.random.default_rng(7), 200)
        b = self.feed(self.make_policy(), np.random.default_rng(7), 200)
        assert a == b

    def test_state_round_trip_continues_identically(self):
        policy = self.make_policy()
        self.feed(policy, np.random.default_rng(1), 100)
        clone = self.make_policy()
        clone.load_state_dict(json.loads(json.dumps(policy.state_dict())))
        assert self.feed(policy, np.random.default_rng(2), 100) == self.feed(clone, np.random.default_rng(2), 100)

    def test_retired_arm_is_never_selected(self):
        policy = self.make_policy()
        policy.retire_arm(1)
        rng = np.random.default_rng(3)
        assert 1 not in self.feed(policy, rng, 300)

    def test_learns_from_rewards(self):
        if not self.learns:
            return
        policy = self.make_policy()
        choices = self.feed(policy, np.random.default_rng(4), 2000)
        late = choices[-500:]
        assert late.count(1) > self.best_share * len(late), np.bincount(late, minlength=3)

    def test_propensity_matches_the_selection_frequency(self):
        """``propensity`` (logged with every decision) is the chance ``select`` returns the arm: within
        a binomial tolerance of the frequency over 4,000 selections, and never 0 for a chosen arm."""
        policy = self.make_policy()
        self.feed(policy, np.random.default_rng(3), 60)
        for allowed in (None, [0, 2]):
            rng = np.random.default_rng(5)
            picks = np.bincount([policy.select(rng, allowed) for _ in range(4000)], minlength=policy.n_arms) / 4000
            for arm in (np.flatnonzero(policy.active) if allowed is None else allowed):
                p = policy.propensity(np.random.default_rng(7), int(arm), allowed)
                assert 0.0 <= p <= 1.0
                if picks[arm] > 0:
                    assert p > 0
                assert abs(p - picks[arm]) < 0.06, (arm, p, picks[arm])
