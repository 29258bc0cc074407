"""Every bandit policy of the project passes the shipped PolicyConformance kit."""
from bandit.testing.policies import PolicyConformance


class TestBetaTS(PolicyConformance):
    policy_config = {"kind": "beta_ts"}


class TestDiscountedBetaTS(PolicyConformance):
    policy_config = {"kind": "beta_ts", "discount": 0.99}


class TestGaussianTS(PolicyConformance):
    policy_config = {"kind": "gaussian_ts"}


class TestUCB1(PolicyConformance):
    policy_config = {"kind": "ucb1"}


class TestEpsilonGreedy(PolicyConformance):
    policy_config = {"kind": "epsilon_greedy", "epsilon": 0.1}


class TestUniform(PolicyConformance):
    policy_config = {"kind": "uniform"}
    learns = False


class TestTopTwoTS(PolicyConformance):
    policy_config = {"kind": "top_two_ts", "exploration_floor": 0.05}
    best_share = 0.4  # the leader gets ~leader_prob of the traffic, the challenger the rest


class TestLinearTS(PolicyConformance):
    policy_config = {"kind": "linear_ts", "features": ["lang"], "hash_dims": 8}
