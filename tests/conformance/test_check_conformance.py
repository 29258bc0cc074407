"""Every built-in check kind (and a user's python check) passes the shipped CheckConformance kit."""
from pathlib import Path

import pytest

from evo.testing.checks import CheckConformance

NO = {}


class TestExact(CheckConformance):
    check_config = {"kind": "exact"}
    passing = [("Paris", "Paris", NO)]
    failing = [("paris", "Paris", NO), ("", "Paris", NO)]


class TestNormalized(CheckConformance):
    check_config = {"kind": "normalized"}
    passing = [(" paris. ", "Paris", NO), ("1,000", "1000", NO)]
    failing = [("-9", "9", NO), ("3.5", "35", NO)]


class TestContains(CheckConformance):
    check_config = {"kind": "contains", "value": "Rome"}
    passing = [("The capital is Rome.", "x", NO)]
    failing = [("Milan", "x", NO)]


class TestRegex(CheckConformance):
    check_config = {"kind": "regex", "pattern": r"^\d+$"}
    passing = [("42", None, NO)]
    failing = [("forty-two", None, NO)]


class TestJsonSchema(CheckConformance):
    check_config = {"kind": "json_schema", "fields": ["n"],
                    "schema": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}
    passing = [('{"n": 3}', {"n": 3}, NO), ('```json\n{"n": 3}\n```', '{"n": 3}', NO)]
    failing = [('{"n": "3"}', {"n": 3}, NO), ('{"n": 4}', {"n": 3}, NO), ("three", {"n": 3}, NO)]


class TestCode(CheckConformance):
    check_config = {"kind": "code", "timeout_s": 20}
    passing = [("```python\ndef sq(x):\n    return x * x\n```", "assert sq(3) == 9", NO)]
    failing = [("def sq(x):\n    return x + x", "assert sq(3) == 9", NO), ("", "assert sq(3) == 9", NO)]


class TestNumeric(CheckConformance):
    check_config = {"kind": "numeric", "tolerance": 0.01}
    passing = [("The answer is 5", "5", NO), ("5.004", "5", NO)]
    failing = [("6", "5", NO), ("-5", "5", NO), ("no number", "5", NO)]


class TestChoice(CheckConformance):
    check_config = {"kind": "choice", "choices": ["yes", "no"]}
    passing = [("yes", "yes", NO), ("Yes.", "yes", NO)]
    failing = [("no", "yes", NO), ("maybe", "yes", NO), ("yes or no", "yes", NO)]


class TestJson(CheckConformance):
    check_config = {"kind": "json", "fields": ["a"]}
    passing = [('{"a": 1, "b": 2}', {"a": 1}, NO)]
    failing = [('{"a": 2}', {"a": 1}, NO), ("not json", {"a": 1}, NO)]


class TestPython(CheckConformance):
    check_config = {"kind": "python", "ref": "length_check.py:short", "timeout_s": 10}
    passing = [("Rome", "Rome", NO)]
    failing = [("The capital of Italy is Rome", "Rome", NO)]

    @pytest.fixture(autouse=True)
    def _module(self, tmp_path):
        (tmp_path / "length_check.py").write_text(
            "def short(inputs, output, expected):\n    return len(output.split()) <= 2, 'answer in two words'\n")
        self.base_dir = Path(tmp_path)
