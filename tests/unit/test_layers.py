"""The import rules of ``docs/architecture.md``, read from the source (every import, lazy ones too):
``evo/`` outside ``evo/cli/`` imports neither ``experiments`` nor ``bandit``; nothing installed imports
``examples``; ``evo/run`` does not import ``evo.api``; only ``evo/cli/`` imports ``rich``."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# one-release aliases of moved modules: they exist to forward to the new place
ALIASES = {"evo/testing/policies.py", "evo/testing/postgres.py", "evo/progress.py"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _offenders(package: str, forbidden: tuple[str, ...], skip: tuple[str, ...] = ()) -> list[str]:
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALIASES or rel.startswith(skip):
            continue
        bad = sorted(n for n in _imports(path) if n.split(".")[0] in forbidden or n in forbidden)
        out += [f"{rel}: {n}" for n in bad]
    return out


def test_the_library_does_not_import_its_applications():
    assert _offenders("evo", ("experiments", "bandit"), skip=("evo/cli/",)) == []


def test_nothing_installed_imports_the_examples():
    for package in ("evo", "bandit", "experiments"):
        assert _offenders(package, ("examples",)) == []


def test_a_run_does_not_reach_up_to_the_api():
    assert _offenders("evo/run", ("evo.api", "evo.cli")) == []


def test_terminal_output_lives_in_the_cli():
    """rich (tables, live bars) is the CLI's: the library and the applications report through
    callbacks and return data."""
    assert _offenders("evo", ("rich",), skip=("evo/cli/",)) == []
    assert _offenders("experiments", ("rich",)) == []
