import pytest

from evo.tasks import checks as C


@pytest.mark.parametrize("output,expected,ok", [("7", "7", True), (" 7 \n", "7", True), ("7.", "7", False)])
def test_exact(output, expected, ok):
    assert C.ExactCheck()(output, expected, {}).passed is ok


def test_normalized_ignores_case_punctuation_whitespace():
    r = C.NormalizedCheck()("  Paris!  ", "paris", {})
    assert r.passed and r.score == 1.0 and r.category is None


def test_contains_and_categories():
    assert C.ContainsCheck()("the answer is 42", "42", {}).passed
    r = C.ContainsCheck(value="blue")("red", None, {})
    assert not r.passed and r.category == "wrong_answer"


def test_regex_modes():
    assert C.RegexCheck(r"\d{4}-\d{2}-\d{2}", mode="fullmatch")("2020-01-02", None, {}).passed
    r = C.RegexCheck(r"\d{4}-\d{2}-\d{2}", mode="fullmatch")("Date: 2020-01-02", None, {})
    assert not r.passed and r.category == "format_violation"


def test_numeric_tolerance_and_parsing():
    assert C.NumericCheck()("The answer is 1,234.", "1234", {}).passed
    assert C.NumericCheck()("7 + 9 = 16", "16", {}).passed
    assert not C.NumericCheck(pick="first")("7 + 9 = 16", "16", {}).passed
    assert C.NumericCheck(tolerance=0.01)("3.141", "3.14", {}).passed
    assert C.NumericCheck(rel_tolerance=0.1)("105", 100, {}).passed
    wrong = C.NumericCheck()("8", "7", {})
    assert not wrong.passed and wrong.category == "wrong_answer" and "got 8" in wrong.message
    none = C.NumericCheck()("seven", "7", {})
    assert none.category == "format_violation"


def test_numeric_strict_flags_verbosity():
    r = C.NumericCheck(strict=True)("The answer is 7", "7", {})
    assert not r.passed and r.category == "verbosity"
    assert C.NumericCheck(strict=True)(" -7 ", "-7", {}).passed


def test_choice():
    check = C.ChoiceCheck(choices=["yes", "no"])
    assert check("Yes.", "yes", {}).passed
    assert check("I think yes", "yes", {}).passed
    r = check("maybe", "yes", {})
    assert r.category == "format_violation"
    assert check("yes or no", "yes", {}).category == "format_violation"
    assert check("no", "yes", {}).category == "wrong_answer"


def test_json_check():
    assert C.JsonCheck()('{"a": 1}', None, {}).passed
    assert C.JsonCheck()("```json\n{\"a\": 1}\n```", None, {}).passed
    bad = C.JsonCheck()("{a: 1", None, {})
    assert not bad.passed and bad.category == "format_violation"
    sub = C.JsonCheck(subset=True)('{"a": 1, "b": 3}', {"a": 1, "b": 2}, {})
    assert sub.score == 0.5 and not sub.passed
    assert C.JsonCheck(fields=["a"])('{"a": 1, "b": 3}', '{"a": 1, "b": 2}', {}).passed


def test_empty_and_refusal_categories():
    assert C.ExactCheck()("", "x", {}).category == "empty_output"
    assert C.ExactCheck()("I cannot help with that.", "x", {}).category == "refusal"
    assert C.ExactCheck()("The answer is x indeed", "x", {}).category == "verbosity"


def test_assertion_return_forms_and_exceptions():
    assert C.AssertionCheck(lambda i, o, e: o == e)("a", "a", {}).passed
    half = C.AssertionCheck(lambda i, o, e: 0.5)("a", "a", {})
    assert half.score == 0.5 and not half.passed
    msg = C.AssertionCheck(lambda i, o, e: (0.0, "too long"))("a", "a", {})
    assert msg.message == "too long"

    def boom(i, o, e):
        raise ValueError("bad thing")
    r = C.AssertionCheck(boom)("a", "a", {})
    assert not r.passed and r.category == "error" and "ValueError: bad thing" in r.message
    weird = C.AssertionCheck(lambda i, o, e: "yes")("a", "a", {})
    assert weird.category == "error" and "expected bool" in weird.message
    nan = C.AssertionCheck(lambda i, o, e: float("nan"))("a", "a", {})
    assert nan.category == "error"


def test_scores_outside_0_1_are_an_error_of_the_check():
    """A check returning 5.0 must not count as a pass (it used to be clamped to 1.0)."""
    for bad in (3.0, 5, -1, float("nan")):
        result = C.AssertionCheck(lambda i, o, e: bad)("a", "a", {})
        assert not result.passed and result.category == "error" and "outside [0, 1]" in result.message


def test_a_check_that_never_returns_times_out_and_one_that_exits_fails():
    import time
    hang = C.AssertionCheck(lambda i, o, e: time.sleep(60), timeout_s=0.2)
    start = time.perf_counter()
    result = hang("a", "a", {})
    assert time.perf_counter() - start < 2
    assert result.category == "error" and "did not return within 0.2 s" in result.message
    import sys
    exits = C.AssertionCheck(lambda i, o, e: sys.exit(0))("a", "a", {})
    assert not exits.passed and exits.category == "error" and "sys.exit(0)" in exits.message
