"""``docs/security.md`` names a test for each defense: every test file, corpus case and test function it
names must exist, so the page cannot promise a test that was renamed or deleted."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"


def _references(text: str) -> list[tuple[str, str | None]]:
    """(file, function or None) for each backticked reference; ``::name`` alone continues the last
    file; a bare ``name.yaml`` continues the last corpus folder."""
    refs, last_file, last_dir = [], None, None
    for token in re.findall(r"`([^`]+)`", text):
        if token.startswith("tests/"):
            path, _, func = token.partition("::")
            refs.append((path, func or None))
            last_file = path if path.endswith(".py") else last_file
            last_dir = str(Path(path).parent) if path.endswith(".yaml") else path.rstrip("/") if not Path(path).suffix else last_dir
        elif token.startswith("::") and last_file:
            refs.append((last_file, token[2:]))
        elif re.fullmatch(r"[a-z0-9_]+\.yaml", token) and last_dir:
            refs.append((f"{last_dir}/{token}", None))
    return refs


def test_every_test_the_security_page_names_exists():
    refs = _references(DOC.read_text())
    assert len(refs) > 60, len(refs)
    missing = []
    for path, func in refs:
        target = ROOT / path
        if not target.exists():
            missing.append(path)
        elif func:
            name = func.split("[")[0]
            if not re.search(rf"^(async )?def {re.escape(name)}\(", target.read_text(), re.M):
                missing.append(f"{path}::{func}")
    assert not missing, missing


def test_the_readme_links_the_security_page():
    assert "docs/security.md" in (ROOT / "README.md").read_text() and "security.md" in (ROOT / "mkdocs.yml").read_text()
