"""``--dry-run`` resolves and estimates without calling a model or writing anything (a subprocess, as a
user runs it: the models are a file that is not a GGUF model, so any call would fail the command)."""
import re
import subprocess
import sys

import pytest

from tests.helpers import write_add_suite


def evo(*argv, cwd):
    return subprocess.run([sys.executable, "-c", "import sys; from evo.cli.main import main; sys.exit(main())", *argv],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "broken.gguf").write_bytes(b"not a model at all" * 100)
    models = "task_model: {kind: local, model_path: broken.gguf}\noptimizer: {kind: local, model_path: broken.gguf}\n"
    suite = write_add_suite(tmp_path, 6, 3, 3)
    (tmp_path / "run.yaml").write_text(f"suite: '{suite}'\n{models}budget: {{max_calls: 50}}\n")
    (tmp_path / "exp.yaml").write_text(f"name: dry\nsuites: ['{suite}']\n{models}budget: {{max_calls: 50}}\n"
                                       "strategies: {it: {kind: iterative}, ev: {kind: evolutionary}}\n"
                                       "seeds: [0, 1]\noutput_dir: out\ntracking: {kind: none}\n")
    return tmp_path


def test_optimize_dry_run_calls_no_model_and_writes_nothing(workdir):
    before = set(workdir.rglob("*"))
    proc = evo("optimize", "--config", "run.yaml", "--dry-run", "--no-cache", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    assert "search calls (budget)" in out and "final scoring calls" in out and "max_calls: 50" in out
    assert "dry run: nothing was called or written" in out
    assert set(workdir.rglob("*")) == before
    # the same config without --dry-run does call the model, and fails on it: the check above can fail
    assert evo("optimize", "--config", "run.yaml", "--no-cache", "--run-dir", "r", cwd=workdir).returncode != 0


def test_compare_and_ablate_dry_runs_call_no_model_and_write_nothing(workdir):
    before = set(workdir.rglob("*"))
    proc = evo("compare", "exp.yaml", "--dry-run", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    assert re.search(r"│\s+6\s+│", proc.stdout), proc.stdout  # runs: 2 strategies x 2 seeds + 2 baseline runs
    assert "strategies:" in out and "results would go to out/dry" in out
    (workdir / "more.yaml").write_text("budget: {max_calls: 80}\n")
    before.add(workdir / "more.yaml")
    proc = evo("ablate", "exp.yaml", "--overlays", "more.yaml", "--dry-run", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "variant more" in proc.stdout and "max_calls: 80" in proc.stdout
    assert set(workdir.rglob("*")) == before
