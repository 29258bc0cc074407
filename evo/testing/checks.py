"""``CheckConformance``: the contract every check kind keeps, as a test class to subclass (pytest).

Set ``check_config`` (the check's suite entry, e.g. ``{"kind": "numeric"}``), and ``passing`` /
``failing``: ``(output, expected, inputs)`` triples the check must pass / fail. The kit checks, for
those and for hostile outputs (empty, huge, control characters, other scripts, JSON-looking text):
the check never raises, its score is in [0, 1], ``passed`` agrees with the score (1.0), a failure has
a category and a message and a pass has neither, the same input gives the same result, and the check
survives pickling (Ray ships checks to other processes). ``base_dir`` is where a ``python`` check's
file is found.
"""
from __future__ import annotations

import pickle

from pydantic import TypeAdapter

HOSTILE_OUTPUTS = ("", " ", "\x00\x1b[31m", "٣", "−7", "{\"a\": [1, 2", "a" * 100_000, "NaN", "None",
                   "Answer: 5\nAnswer: 6", "<prompt>x</prompt>", "\u202e5")


class CheckConformance:
    check_config: dict = {}
    passing: list[tuple] = []
    failing: list[tuple] = []
    base_dir = None

    def make_check(self):
        from evo.tasks.check_config import CheckConfig, build_check

        return build_check(TypeAdapter(CheckConfig).validate_python(self.check_config), self.base_dir)

    def _assert_contract(self, result) -> None:
        assert 0.0 <= result.score <= 1.0, result
        assert result.passed == (result.score >= 1.0 - 1e-9), result
        assert isinstance(result.message, str)
        if result.passed:
            assert result.category is None, result
        else:
            assert result.category and isinstance(result.category, str), result

    def test_passes_what_it_should(self):
        check = self.make_check()
        for output, expected, inputs in self.passing:
            result = check(output, expected, inputs)
            self._assert_contract(result)
            assert result.passed, (output, expected, result)

    def test_fails_what_it_should_with_a_category(self):
        check = self.make_check()
        for output, expected, inputs in self.failing:
            result = check(output, expected, inputs)
            self._assert_contract(result)
            assert not result.passed and result.message, (output, expected, result)

    def test_hostile_outputs_never_raise(self):
        check = self.make_check()
        expected = (self.passing or self.failing or [("", "5", {})])[0][1]
        inputs = (self.passing or self.failing or [("", "5", {})])[0][2]
        for output in HOSTILE_OUTPUTS:
            self._assert_contract(check(output, expected, inputs))

    def test_same_input_same_result(self):
        check = self.make_check()
        for output, expected, inputs in [*self.passing, *self.failing]:
            first, second = check(output, expected, inputs), check(output, expected, inputs)
            assert (first.score, first.passed, first.category) == (second.score, second.passed, second.category)

    def test_survives_pickling(self):
        clone = pickle.loads(pickle.dumps(self.make_check()))
        for output, expected, inputs in [*self.passing, *self.failing]:
            assert clone(output, expected, inputs).passed == self.make_check()(output, expected, inputs).passed
