"""The built-in suites generated in code (evo/tasks/generators.py) are reproducible and correct."""
from __future__ import annotations

import re

import pytest

from evo.tasks.generators import CATEGORIES, GENERATORS, SUITES_DIR, evaluate_boolean, render
from evo.tasks.loader import load_suite

WORD = {"a": 1, "an": 1, "two": 2, "three": 3, "four": 4}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_committed_examples_are_what_the_generator_makes(name):
    assert (SUITES_DIR / f"{name}.jsonl").read_text(encoding="utf-8") == render(name)
    suite = load_suite(name)
    assert {s: len(suite.split(s)) for s in ("train", "val", "test")} == {"train": 40, "val": 40, "test": 40}


def _singular(phrase: str) -> str:
    for item in (i for items in CATEGORIES.values() for i in items):
        plural = {"mouse": "mice", "fish": "fish", "peach": "peaches", "couch": "couches", "potato": "potatoes",
                  "head of broccoli": "heads of broccoli", "stalk of celery": "stalks of celery"}.get(
            item, item[:-1] + "ies" if item.endswith("y") and item[-2] not in "aeiou" else item + "s")
        if phrase in (item, plural):
            return item
    raise AssertionError(f"unknown item {phrase!r}")


def test_object_counting_answers_count_only_the_asked_category():
    """Re-read every question independently of the generator: parse the list, sum the asked category."""
    suite = load_suite("count_objects")
    for ex in suite.examples:
        m = re.fullmatch(r"I have (.*)\. How many (.*) do I have\?", ex.inputs["question"])
        listing, category = m.group(1), m.group(2)
        total = 0
        for part in re.split(r", and |, | and ", listing):
            word, rest = part.split(" ", 1)
            if _singular(rest) in CATEGORIES[category]:
                total += WORD[word]
        assert str(total) == ex.expected, ex.inputs


@pytest.mark.parametrize("text, value", [
    ("True and False or True", True), ("not True or False", False), ("not ( True or False ) and True", False),
    ("( False or not False ) and not ( False )", True), ("True or False and False", True)])
def test_boolean_values_follow_python_precedence(text, value):
    assert evaluate_boolean(text) is value


@pytest.mark.parametrize("text", ["__import__('os')", "1 + 1", "True and x"])
def test_boolean_evaluator_refuses_anything_else(text):
    with pytest.raises(ValueError):
        evaluate_boolean(text)


def test_boolean_expressions_are_balanced_and_distinct():
    suite = load_suite("boolean_expressions")
    answers = [ex.expected for ex in suite.examples]
    assert answers.count("True") == answers.count("False") == 60
    assert len({ex.inputs["expression"] for ex in suite.examples}) == 120
    for ex in suite.examples:
        assert str(evaluate_boolean(ex.inputs["expression"].removesuffix(" is"))) == ex.expected
