"""Shared fixtures: small suites written to tmp files, and scripted backends."""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture
def write_suite(tmp_path):
    """Write a suite YAML (and optional JSONL rows) into tmp_path; return the YAML path."""
    def _write(yaml_text: str, jsonl: dict[str, list] | None = None, name: str = "suite.yaml") -> Path:
        for fname, rows in (jsonl or {}).items():
            (tmp_path / fname).write_text("".join(
                (r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
        path = tmp_path / name
        path.write_text(textwrap.dedent(yaml_text), encoding="utf-8")
        return path
    return _write


@pytest.fixture
def add_suite(write_suite):
    """A small single-task addition suite with explicit splits (6 train, 2 val, 2 test)."""
    rows = []
    for i, (a, b) in enumerate([(1, 2), (2, 3), (3, 4), (4, 5), (5, 1), (6, 2), (7, 1), (2, 2), (3, 3), (1, 1)]):
        split = "train" if i < 6 else "val" if i < 8 else "test"
        rows.append({"id": f"ex{i}", "input": {"a": a, "b": b}, "expected": str(a + b), "split": split})
    return write_suite("""
        name: add
        input_template: "{a} + {b}"
        examples_file: add.jsonl
        checks: [{kind: numeric, strict: true}]
        seed_prompt: {instruction: "Add.", max_tokens: 8}
    """, {"add.jsonl": rows})


def adder(request) -> str:
    """A scripted 'model' that answers '<a+b>' for the last user line 'a + b'."""
    last = request.messages[-1][1].splitlines()[-1]
    a, _, b = last.partition(" + ")
    return str(int(a) + int(b))
