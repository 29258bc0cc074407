"""``json_schema`` check: validation with the failing path, field-level scoring, hostile schemas."""
import json
import time

import pytest

from evo.tasks.check_config import CHECKS, build_check
from evo.tasks.loader import load_suite

SCHEMA = {"type": "object", "required": ["name", "items"],
          "properties": {"name": {"type": "string"},
                         "address": {"type": "object", "properties": {"city": {"type": "string"}}},
                         "items": {"type": "array", "items": {"type": "object", "required": ["sku", "price"],
                                                              "properties": {"sku": {"type": "string",
                                                                                     "pattern": "^[A-Z]{3}-\\d+$"},
                                                                             "price": {"type": "number"}}}}}}
GOOD = {"name": "Ada", "address": {"city": "Paris"}, "items": [{"sku": "ABC-1", "price": 3.5}]}


def check(**options):
    cfg = CHECKS["json_schema"].config.model_validate({"kind": "json_schema", "schema": SCHEMA, **options})
    return build_check(cfg)


def test_a_valid_output_passes_and_a_fenced_one_too():
    assert check()(json.dumps(GOOD), None, {}).passed
    assert check()(f"```json\n{json.dumps(GOOD)}\n```", None, {}).passed


def test_a_violation_names_the_nested_path():
    bad = {**GOOD, "items": [{"sku": "ABC-1", "price": "3.5"}]}
    result = check()(json.dumps(bad), None, {})
    assert not result.passed and result.category == "format_violation"
    assert result.message.startswith("at $.items[0].price:") and "'number'" in result.message
    result = check()(json.dumps({**GOOD, "items": [{"sku": "abc", "price": 1}]}), None, {})
    assert "at $.items[0].sku:" in result.message


def test_not_json_is_a_format_violation_and_empty_is_empty():
    assert check()("name: Ada", None, {}).category == "format_violation"
    assert check()("  ", None, {}).category == "empty_output"


def test_fields_score_the_share_that_matches():
    expected = {**GOOD, "address": {"city": "Rome"}}
    result = check(fields=["name", "address.city", "items[0].sku", "items[0].price"])(json.dumps(GOOD), expected, {})
    assert result.score == 0.75 and result.category == "wrong_answer" and "address.city" in result.message


def test_a_bad_schema_is_refused_when_the_suite_loads(tmp_path):
    (tmp_path / "s.yaml").write_text("name: s\ninput_template: '{q}'\nexamples: [{input: {q: x}, expected: '{}'}]\n"
                                     "checks: [{kind: json_schema, schema: {type: 12}}]\n")
    with pytest.raises(Exception, match="not a valid JSON Schema"):
        load_suite(tmp_path / "s.yaml")


def test_a_schema_file_beside_the_suite(tmp_path):
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "s.yaml").write_text("name: s\ninput_template: '{q}'\nexamples: [{input: {q: x}, expected: '{}'}]\n"
                                     "checks: [{kind: json_schema, schema_file: schema.json}]\n")
    suite = load_suite(tmp_path / "s.yaml")
    assert suite.tasks[0].checks[0](json.dumps(GOOD), "{}", {}).passed


def test_a_backtracking_pattern_fails_the_check_instead_of_hanging():
    cfg = CHECKS["json_schema"].config.model_validate(
        {"kind": "json_schema", "schema": {"type": "string", "pattern": "^(a+)+$"}})
    start = time.monotonic()
    result = build_check(cfg)(json.dumps("a" * 40 + "!"), None, {})
    assert not result.passed and result.category in ("format_violation", "error")  # no match, or timed out
    assert time.monotonic() - start < 30  # with `re`, 40 a's and a '!' backtrack for minutes


def test_a_ref_to_another_document_is_never_fetched():
    cfg = CHECKS["json_schema"].config.model_validate(
        {"kind": "json_schema", "schema": {"$ref": "http://127.0.0.1:9/evil.json"}})
    result = build_check(cfg)(json.dumps({"a": 1}), None, {})
    assert not result.passed and result.category == "error"
