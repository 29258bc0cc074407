"""``json_schema`` check: the output is JSON that validates against a JSON Schema (inline, or a file
beside the suite), with the failing location as the message; ``fields`` adds field-level scoring.

Contract:
- an output that is not JSON fails with ``format_violation`` (``empty_output`` when empty);
- a schema violation fails with ``format_violation`` and ``at $.items[2].price: 'x' is not of type
  'number'`` (the deepest, most relevant error; ``jsonschema.exceptions.best_match``);
- a valid output scores 1, or with ``fields`` (paths like ``name``, ``address.city``, ``items[0].sku``)
  the share of those fields equal to the expected object's (``wrong_answer`` naming the ones that differ);
- the schema is checked when the suite loads (a bad schema is a config error naming the field). Schemas
  come from suite files, which may be someone else's: ``pattern`` and ``patternProperties`` run with the
  ``regex`` module under a per-match timeout (a pattern that backtracks forever fails the check, it does
  not hang the run), and ``$ref`` to anything but the schema itself is not fetched.
"""
from __future__ import annotations

import json
import re
from typing import Any

import regex

from evo.tasks.checks import Check, parse_json_output

PATTERN_TIMEOUT_S = 1.0
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _search(pattern: str, text: str) -> bool:
    try:
        return regex.search(pattern, text, timeout=PATTERN_TIMEOUT_S) is not None
    except TimeoutError:
        raise ValueError(f"pattern {pattern!r} took over {PATTERN_TIMEOUT_S:g} s") from None


def _validator_class():
    """Draft 2020-12 with ``pattern``/``patternProperties`` under a timeout (``regex``, not ``re``)."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator, patrn, instance, schema):
        if validator.is_type(instance, "string") and not _search(patrn, instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    def pattern_properties(validator, patterns, instance, schema):
        if not validator.is_type(instance, "object"):
            return
        for patrn, subschema in patterns.items():
            for key, value in instance.items():
                if _search(patrn, key):
                    yield from validator.descend(value, subschema, path=key, schema_path=patrn)

    return validators.extend(Draft202012Validator, {"pattern": pattern, "patternProperties": pattern_properties})


def check_schema(schema: Any) -> None:
    """``ValueError`` naming what is wrong with ``schema`` (not a mapping, or not a valid JSON Schema)."""
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, dict):
        raise ValueError(f"a JSON Schema is a mapping, not {type(schema).__name__}")
    try:
        _validator_class().check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"not a valid JSON Schema: {exc.message}") from None


def validator_for(schema: dict):
    """A validator of ``schema`` (checked) that never fetches a ``$ref`` to another document."""
    from referencing import Registry

    return _validator_class()(schema, registry=Registry())


def first_error(value: Any, schema: dict) -> str | None:
    """The most relevant violation of ``schema`` by ``value`` (``at $.a[0]: ...``), or None when valid."""
    from jsonschema.exceptions import best_match

    error = best_match(validator_for(schema).iter_errors(value))
    return None if error is None else f"at {_where(error.absolute_path)}: {error.message}"[:500]


def _where(path) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def field_value(value: Any, path: str) -> tuple[bool, Any]:
    """(found, value) at ``path`` (``a.b[0].c``) in ``value``."""
    for name, index in _PATH_PART.findall(path):
        if index:
            if not isinstance(value, list) or int(index) >= len(value):
                return False, None
            value = value[int(index)]
        else:
            if not isinstance(value, dict) or name not in value:
                return False, None
            value = value[name]
    return True, value


class JsonSchemaCheck(Check):
    kind = "json_schema"

    def __init__(self, schema: dict, fields: list[str] | None = None, **kw):
        super().__init__(**kw)
        check_schema(schema)
        self.schema = schema
        self.fields = list(fields or [])
        self._validator = None

    def _run(self, output, expected, inputs):
        got, failure = parse_json_output(output)
        if failure is not None:
            return failure
        from jsonschema.exceptions import best_match

        if self._validator is None:
            self._validator = validator_for(self.schema)
        error = best_match(self._validator.iter_errors(got))
        if error is not None:
            return 0.0, f"at {_where(error.absolute_path)}: {error.message}"[:500], "format_violation"
        if not self.fields:
            return 1.0, "", None
        want = json.loads(expected) if isinstance(expected, str) else expected
        wrong = [f for f in self.fields if field_value(got, f) != field_value(want, f)]
        if not wrong:
            return 1.0, "", None
        return (len(self.fields) - len(wrong)) / len(self.fields), f"fields differ: {wrong}", "wrong_answer"
