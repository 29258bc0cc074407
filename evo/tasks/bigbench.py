"""Load BIG-bench ``task.json`` files (``exact_str_match`` and ``multiple_choice`` tasks) as suites.

The task files ship inside the PyPI sdist ``bigbench==1.0.0`` (358 MB). ``load_bigbench(name)``
downloads that archive once into a cache directory with ``pip download --no-deps`` (never at import
time) and reads ``bigbench/benchmark_tasks/<name>/task.json`` from it. A path to a ``task.json`` file
is read directly. Tasks with subtasks are not supported.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from evo.errors import ConfigError
from evo.tasks.checks import ChoiceCheck, NormalizedCheck
from evo.tasks.loader import SplitConfig, assign_splits
from evo.tasks.suite import Example, Task, TaskSuite

SDIST = "bigbench==1.0.0"
ARCHIVE_NAME = "bigbench-1.0.0.tar.gz"


def default_cache_dir() -> Path:
    return Path(os.environ.get("EVO_BIGBENCH_CACHE", Path.home() / ".cache" / "evo" / "bigbench"))


def ensure_archive(cache_dir: Path, downloader=None) -> Path:
    """Path of the bigbench sdist, downloading it into ``cache_dir`` first if it is missing."""
    archive = cache_dir / ARCHIVE_NAME
    if archive.is_file():
        return archive
    cache_dir.mkdir(parents=True, exist_ok=True)
    if downloader is None:
        def downloader(dest: Path) -> None:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                   "-d", str(dest), SDIST]
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode != 0:
                tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["unknown error"]
                raise ConfigError(SDIST, f"download failed: {tail[0]}")
    downloader(cache_dir)
    if not archive.is_file():
        raise ConfigError(cache_dir, f"{ARCHIVE_NAME} was not found after download")
    return archive


def read_task_json(name: str, archive: Path) -> dict:
    member = f"bigbench-1.0.0/bigbench/benchmark_tasks/{name}/task.json"
    try:
        with tarfile.open(archive, "r:gz") as tar:
            handle = tar.extractfile(member)
            if handle is None:
                raise KeyError(member)
            return json.loads(handle.read().decode("utf-8"))
    except KeyError:
        raise ConfigError(archive, f"no BIG-bench task named {name!r} (or it has subtasks)") from None
    except (tarfile.TarError, json.JSONDecodeError, OSError) as exc:
        raise ConfigError(archive, f"cannot read task {name!r}: {exc}") from None


def load_bigbench(name_or_path: str | Path, *, cache_dir: Path | None = None, max_examples: int | None = None,
                  split: SplitConfig | None = None, downloader=None) -> TaskSuite:
    """A ``TaskSuite`` from a BIG-bench task name (downloaded on first use) or a ``task.json`` path."""
    path = Path(name_or_path)
    if path.suffix == ".json":
        if not path.is_file():
            raise ConfigError(path, "file does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(path, f"invalid JSON: {exc.msg}", f"line {exc.lineno}") from None
        source = str(path)
    else:
        archive = ensure_archive(cache_dir or default_cache_dir(), downloader)
        data = read_task_json(str(name_or_path), archive)
        source = f"bigbench:{name_or_path}"
    return task_json_to_suite(data, source, max_examples=max_examples, split=split)


def task_json_to_suite(data: dict, source: str, *, max_examples: int | None = None,
                       split: SplitConfig | None = None) -> TaskSuite:
    if not isinstance(data, dict) or "examples" not in data:
        raise ConfigError(source, "not a BIG-bench task: missing 'examples'")
    name = str(data.get("name") or Path(source).stem)
    metrics = data.get("metrics") or []
    raw = data["examples"][: max_examples] if max_examples else data["examples"]
    prefix = data.get("example_input_prefix", "")
    multiple_choice = "multiple_choice_grade" in metrics or all("target_scores" in e for e in raw)
    if not multiple_choice and "exact_str_match" not in metrics:
        raise ConfigError(source, f"unsupported metrics {metrics}; supported: exact_str_match, multiple_choice_grade")
    examples = []
    for i, ex in enumerate(raw):
        if multiple_choice:
            scores = ex.get("target_scores")
            if not isinstance(scores, dict) or not scores:
                raise ConfigError(source, "multiple-choice example lacks target_scores", f"examples[{i}]")
            choices = list(scores)
            expected = max(choices, key=lambda c: scores[c])
            text = f"{prefix}{ex['input']}\nOptions: " + "; ".join(choices)
            inputs = {"input": text, "choices": choices}
        else:
            target = ex.get("target")
            if target is None:
                raise ConfigError(source, "example lacks 'target'", f"examples[{i}]")
            expected = target[0] if isinstance(target, list) else target
            inputs = {"input": f"{prefix}{ex['input']}"}
        examples.append(Example(f"{name}-{i}", name, inputs, str(expected), ""))
    check = ChoiceCheck() if multiple_choice else NormalizedCheck()
    task = Task(name, "{input}", (check,), 1.0, str(data.get("description", "")))
    examples = assign_splits(examples, split or SplitConfig())
    seed_prompt = {"instruction": str(data.get("task_prefix", "")).strip(), "max_tokens": 32}
    return TaskSuite(name, (task,), tuple(examples), task.description, seed_prompt, source)
