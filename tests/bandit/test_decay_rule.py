"""The decay rule is written once (``discounted_updates``): a batch of rewards applied at once (the
store's group commit) gives the statistics of the same rewards applied one by one (a policy)."""
import math

from hypothesis import given, strategies as st

from bandit.policies import discounted_updates


def one_by_one(discount, rewards, arms):
    stats = {a: [0.0, 0.0, 0.0] for a in arms}
    for arm, r in rewards:
        for t in stats.values():
            t[:] = [x * discount for x in t]
        stats[arm] = [stats[arm][0] + 1, stats[arm][1] + r, stats[arm][2] + r * r]
    return stats


@given(st.floats(0.5, 1.0), st.lists(st.tuples(st.sampled_from("abc"), st.floats(0, 1)), max_size=12))
def test_a_batch_equals_the_rewards_applied_one_by_one(discount, rewards):
    start = {a: [2.0, 1.0, 0.5] for a in "abc"}
    factor, increments = discounted_updates(discount, rewards)
    batched = {a: [x * factor + y for x, y in zip(start[a], increments.get(a, [0, 0, 0]))] for a in "abc"}
    sequential = one_by_one(discount, rewards, "abc")
    seq_with_start = {a: [x * discount ** len(rewards) + y for x, y in zip(start[a], sequential[a])] for a in "abc"}
    for a in "abc":
        assert all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) for x, y in zip(batched[a], seq_with_start[a]))
