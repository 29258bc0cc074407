"""Versioned meta-prompt templates (``evo/templates/<name>.txt``).

A template file holds the optimizer's system text, a line ``=== USER ===``, then the user text; both
use ``string.Template`` placeholders (``$name``). Unknown placeholders raise ``KeyError`` with the name.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from string import Template

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
SEPARATOR = "=== USER ==="


@lru_cache(maxsize=None)
def _load(name: str) -> tuple[Template, Template]:
    path = TEMPLATE_DIR / f"{name}.txt"
    text = path.read_text(encoding="utf-8")
    system, _, user = text.partition(SEPARATOR)
    return Template(system.strip()), Template(user.strip())


def render(name: str, **values: str) -> tuple[str, str]:
    """(system, user) texts of template ``name`` filled with ``values``."""
    system, user = _load(name)
    return system.substitute(values), user.substitute(values)
