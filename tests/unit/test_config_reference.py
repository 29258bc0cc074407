"""``docs/config.md`` and ``evo schema``: generated from the models that validate each file."""
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from evo.cli.schema_cmd import KINDS, json_schema

ROOT = Path(__file__).resolve().parents[2]


def test_the_config_reference_is_not_stale():
    """Generated in a fresh process: kinds other tests registered (plugins) are not part of the shipped page."""
    env = {k: v for k, v in os.environ.items() if k != "EVO_PLUGINS"}
    fresh = subprocess.run([sys.executable, "-c", "import sys; from evo.cli.schema_cmd import reference_markdown; "
                            "sys.stdout.write(reference_markdown())"], capture_output=True, text=True, env=env,
                           cwd=ROOT, check=True).stdout
    assert (ROOT / "docs" / "config.md").read_text(encoding="utf-8") == fresh, (
        "docs/config.md is stale: run `.venv/bin/evo schema --reference > docs/config.md`")


@pytest.mark.parametrize("kind", KINDS)
def test_each_schema_is_valid_json_schema(kind):
    jsonschema.Draft202012Validator.check_schema(json_schema(kind))


@pytest.mark.parametrize("kind, path", [("experiment", "configs/quickstart.yaml"),
                                        ("experiment", "configs/comparison.yaml"),
                                        ("suite", "evo/suites/arithmetic.yaml"), ("suite", "evo/suites/dates.yaml")])
def test_shipped_files_pass_their_schema(kind, path):
    jsonschema.validate(yaml.safe_load((ROOT / path).read_text()), json_schema(kind))


def test_a_misspelt_key_fails_the_schema_as_it_fails_validation():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"budget": {"max_cals": 3}}, json_schema("run"))
