"""The documentation site builds offline with strict checks (a broken link, a missing anchor or a page
outside the nav fails), the generated pages are current, and the README's links point at files."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strictly(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "optimize" / "index.html").is_file()


def test_the_api_reference_is_not_stale():
    fresh = subprocess.run([sys.executable, "-m", "evo.cli.api_reference"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout
    assert (ROOT / "docs" / "api.md").read_text(encoding="utf-8") == fresh, (
        "docs/api.md is stale: run `.venv/bin/python -m evo.cli.api_reference > docs/api.md`")


def test_the_readme_links_point_at_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [t for t in re.findall(r"\]\(([^)#]+)\)", readme) if not t.startswith("http")]
    assert targets and all((ROOT / t).exists() for t in targets), [t for t in targets if not (ROOT / t).exists()]
    assert len(readme.splitlines()) < 120  # the README stays a front page; the rest is the site
