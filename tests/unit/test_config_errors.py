"""Validation errors: every one is shown on the one error line, misspelt keys get a suggestion."""
import pytest

from evo.config_base import validate_config
from evo.errors import ConfigError, MAX_ERRORS_SHOWN
from evo.run.spec import RunSpec


def test_every_error_is_on_the_line_with_its_field():
    with pytest.raises(ConfigError) as err:
        validate_config(RunSpec, {"budget": {"max_calls": 0}, "seed": -1}, "r.yaml")
    text = str(err.value)
    assert text.startswith("r.yaml: budget.max_calls:") and "; seed:" in text and "\n" not in text


def test_a_misspelt_key_gets_a_suggestion_and_a_strange_one_does_not():
    with pytest.raises(ConfigError) as err:
        validate_config(RunSpec, {"sed": 1, "zzzqqq": 2}, "r.yaml")
    assert "sed: unknown field (did you mean 'seed'?)" in str(err.value)
    assert "zzzqqq: unknown field" in str(err.value) and "zzzqqq: unknown field (" not in str(err.value)


def test_many_errors_are_counted_after_the_first_few():
    raw = {f"unknown_{i}": i for i in range(MAX_ERRORS_SHOWN + 3)}
    with pytest.raises(ConfigError) as err:
        validate_config(RunSpec, raw, "r.yaml")
    assert str(err.value).endswith("; and 3 more") and str(err.value).count("unknown field") == MAX_ERRORS_SHOWN
