"""The run loop's improvement test compares strategies' ``progress()`` tuples in order."""
from evo.run.loop import improved_on

INF = float("-inf")


def test_a_higher_score_is_an_improvement_and_a_tie_is_not():
    assert improved_on((0.5,), (0.6,))
    assert not improved_on((0.5,), (0.5 + 1e-13,))
    assert not improved_on((0.6,), (0.5,))
    assert improved_on((INF,), (0.0,))


def test_the_phase_decides_before_the_score():
    assert improved_on((0, 0.9), (1, -1.0))       # hybrid hand-over, whatever the scores
    assert not improved_on((1, 0.4), (1, 0.3))
    assert improved_on((1, 0.3), (1, 0.4))
