"""Adversarial pairs for every built-in check: signs, decimals, the Unicode minus, thousands
separators and substring traps must never turn a wrong answer into a pass (or a right one into a fail)."""
import pytest

from evo.tasks.checks import (ChoiceCheck, ContainsCheck, ExactCheck, JsonCheck, NormalizedCheck, NumericCheck,
                              RegexCheck, normalize_text, parse_number)

# (output, expected, passes)
NORMALIZED = [
    ("-9", "9", False), ("9", "-9", False), ("−9", "-9", True), ("–9", "-9", True), ("(-9)", "-9", True),
    ("-9.", "-9", True), ("3.5", "35", False), ("35", "3.5", False), ("0.5", ".5", False), ("12", "21", False),
    ("1,000", "1000", True), ("1,000", "1", False), ("Paris.", "paris", True), ("  PARIS ", "Paris", True),
    ("'hello'", "hello", True), ("New  York", "new york", True), ("+5", "-5", False), ("5%", "5", True),
    ("2024-01-05", "2024-01-05", True), ("2024-01-05", "20240105", False), ("don't", "dont", False),
]
NUMERIC = [  # (output, expected, passes) for NumericCheck() (last number, not strict)
    ("-3", "3", False), ("3", "-3", False), ("−3", "-3", True), ("The answer is −3.", "-3", True),
    ("3.0", "3", True), ("3.5", "3", False), ("1,000", "1000", True), ("1,000", "1", False),
    ("10", "1", False), ("-0.5", "0.5", False), (".5", "0.5", True), ("7 - 3 = 4", "4", True),
]
NUMERIC_STRICT = [
    ("-3", "-3", True), ("−3", "-3", True), ("3.0", "3", True), ("1,000", "1000", True),
    ("-3", "3", False), ("The answer is 3", "3", False), ("3 apples", "3", False),
]
CONTAINS = [  # (output, value, passes)
    ("10", "1", False), ("-3", "3", False), ("3.5", "3", False), ("13", "3", False), ("1,000", "1", False),
    ("x = 1, y = 2", "1", True), ("The answer is 1.", "1", True), ("5-3=2", "3", True), ("−3 degrees", "-3", True),
    ("-3 degrees", "3", False), ("42", "42", True), ("420", "42", False), ("Paris is nice", "paris", True),
]
EXACT = [("-9", "9", False), ("9", "9", True), (" 9\n", "9", True), ("9.0", "9", False), ("−9", "-9", False)]
CHOICE = [  # choices A / B / -1 / 1
    ("A", "A", True), ("b", "B", True), ("-1", "1", False), ("1", "-1", False), ("Answer: -1", "-1", True),
    ("A or B", "A", False),
]
REGEX = [(r"-?\d+", "fullmatch", "-3", True), (r"\d+", "fullmatch", "-3", False), (r"^-\d$", "search", "−3", False)]
JSON = [('{"x": -3}', {"x": 3}, False), ('{"x": 3.0}', {"x": 3}, True), ('{"x": "1"}', {"x": 1}, False)]


@pytest.mark.parametrize("output,expected,passes", NORMALIZED)
def test_normalized(output, expected, passes):
    assert NormalizedCheck()(output, expected, {}).passed is passes, (normalize_text(output), normalize_text(expected))


@pytest.mark.parametrize("output,expected,passes", NUMERIC)
def test_numeric(output, expected, passes):
    assert NumericCheck()(output, expected, {}).passed is passes


@pytest.mark.parametrize("output,expected,passes", NUMERIC_STRICT)
def test_numeric_strict(output, expected, passes):
    assert NumericCheck(strict=True)(output, expected, {}).passed is passes


@pytest.mark.parametrize("output,value,passes", CONTAINS)
def test_contains(output, value, passes):
    assert ContainsCheck(value=value)(output, None, {}).passed is passes
    assert ContainsCheck()(output, value, {}).passed is passes  # the expected value as the needle


@pytest.mark.parametrize("output,expected,passes", EXACT)
def test_exact(output, expected, passes):
    assert ExactCheck()(output, expected, {}).passed is passes


@pytest.mark.parametrize("output,expected,passes", CHOICE)
def test_choice(output, expected, passes):
    assert ChoiceCheck(choices=["A", "B", "-1", "1"])(output, expected, {}).passed is passes


@pytest.mark.parametrize("pattern,mode,output,passes", REGEX)
def test_regex(pattern, mode, output, passes):
    assert RegexCheck(pattern, mode=mode)(output, None, {}).passed is passes


@pytest.mark.parametrize("output,expected,passes", JSON)
def test_json_fields(output, expected, passes):
    assert JsonCheck(subset=True)(output, expected, {}).passed is passes


def test_parse_number_keeps_signs_and_separators():
    assert parse_number("−3") == -3 and parse_number("-3") == -3 and parse_number("1,000") == 1000
    assert parse_number("costs 1,234.5 dollars") == 1234.5 and parse_number("a 3.0 b") == 3.0
    assert parse_number("from 3 to −5", pick="last") == -5
