"""Load BIG-bench ``task.json`` files (``exact_str_match`` and ``multiple_choice`` tasks) as suites.

The task files ship inside the PyPI sdist ``bigbench==1.0.0`` (358 MB). ``load_bigbench(name)``
downloads that archive once into a cache directory (never at import time) and reads
``bigbench/benchmark_tasks/<name>/task.json`` from it. A path to a ``task.json`` file is read directly;
a ``bigbench/benchmark_tasks`` tree extracted into the cache directory (from the sdist or a clone of
the BIG-bench repository) is read in place of the archive. When no download source serves the archive
(the index now lists only a placeholder release), the error says where to put a copy.
Tasks with subtasks are not supported.

Download: ``pip download`` cannot fetch this sdist (recent pip refuses it while preparing its
metadata: "Distributions from PyPI cannot declare direct URL dependencies"), so the archive is fetched
the way pip finds it, without building it: the Simple API (PEP 691 JSON, or the HTML page) of the
index pip is configured with (``PIP_INDEX_URL`` / ``pip config``, default PyPI) names the file and
its sha256; the file is streamed to ``<name>.part``, its sha256 checked against the index's and the
pinned one, then renamed into place. Errors are one-line ``ConfigError``s.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import ssl
import subprocess
import sys
import tarfile
from pathlib import Path
from urllib.parse import urljoin

from evo.errors import ConfigError
from evo.tasks.checks import ChoiceCheck, NormalizedCheck
from evo.tasks.loader import SplitConfig, assign_splits
from evo.tasks.suite import Example, Task, TaskSuite

PROJECT = "bigbench"
VERSION = "1.0.0"
ARCHIVE_NAME = f"{PROJECT}-{VERSION}.tar.gz"
# sha256 of the sdists as published (checked in addition to what the index says)
PINNED_SHA256 = {
    "bigbench-1.0.0.tar.gz": "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2",
    "bigbench-0.0.1.tar.gz": "b9e26039040dff2815f2fa5dc20ca0c8dc02052cecded82ad7eb17dbd9e8f182",
}
DEFAULT_INDEX = "https://pypi.org/simple"


def default_cache_dir() -> Path:
    return Path(os.environ.get("EVO_BIGBENCH_CACHE", Path.home() / ".cache" / "evo" / "bigbench"))


def _pip_setting(name: str) -> str | None:
    """A pip setting from the environment (``PIP_<NAME>``) or ``pip config`` (global/user/site)."""
    env = os.environ.get("PIP_" + name.upper().replace("-", "_"))
    if env:
        return env.split()[0]
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.split(".")[-1] == name:
            return value.strip().strip("'\"").split()[0]
    return None


def index_file(filename: str, *, index_url: str | None = None, client=None) -> tuple[str, str | None]:
    """(download URL, sha256 or None) of ``filename`` in the project's Simple API page."""
    import httpx

    base = (index_url or _pip_setting("index-url") or DEFAULT_INDEX).rstrip("/")
    page = f"{base}/{PROJECT}/"
    try:
        resp = client.get(page, headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        raise ConfigError(page, f"cannot read the package index: {exc}") from None
    if "json" in resp.headers.get("content-type", ""):
        for entry in resp.json().get("files", []):
            if entry.get("filename") == filename:
                return urljoin(page, entry["url"]), (entry.get("hashes") or {}).get("sha256")
    else:
        for href in re.findall(r'href="([^"]+)"', resp.text):
            url = urljoin(page, href.replace("&amp;", "&"))
            if url.split("#")[0].endswith("/" + filename):
                sha = re.search(r"#sha256=([0-9a-f]{64})", url)
                return url.split("#")[0], sha.group(1) if sha else None
    raise ConfigError(page, f"the index lists no file {filename}")


def registry_download(cache_dir: Path, filename: str = ARCHIVE_NAME, *, index_url: str | None = None) -> Path:
    """Download ``filename`` of the ``bigbench`` project from the package index into ``cache_dir``,
    verifying its sha256 (the index's and the pinned one); return its path."""
    import httpx

    cert = _pip_setting("cert")
    verify = ssl.create_default_context(cafile=cert) if cert else True
    dest = cache_dir / filename
    part = cache_dir / (filename + ".part")
    with httpx.Client(timeout=httpx.Timeout(60.0, connect=20.0), follow_redirects=True, verify=verify) as client:
        url, index_sha = index_file(filename, index_url=index_url, client=client)
        digest = hashlib.sha256()
        try:
            with client.stream("GET", url) as resp, open(part, "wb") as fh:
                resp.raise_for_status()
                for chunk in resp.iter_bytes(1 << 20):
                    fh.write(chunk)
                    digest.update(chunk)
        except httpx.HTTPError as exc:
            part.unlink(missing_ok=True)
            raise ConfigError(url, f"download failed: {exc}") from None
    got = digest.hexdigest()
    for label, want in (("the index", index_sha), ("the pinned hash", PINNED_SHA256.get(filename))):
        if want and got != want:
            part.unlink(missing_ok=True)
            raise ConfigError(url, f"sha256 mismatch with {label}: got {got}, expected {want}")
    os.replace(part, dest)
    return dest


def ensure_archive(cache_dir: Path, downloader=None) -> Path:
    """Path of the bigbench sdist, downloading it into ``cache_dir`` first if it is missing.
    ``downloader(cache_dir)`` replaces the registry download (tests)."""
    archive = cache_dir / ARCHIVE_NAME
    if archive.is_file():
        return archive
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(cache_dir, f"cannot create the BIG-bench cache: {exc.strerror or exc}") from None
    try:
        (downloader or registry_download)(cache_dir)
    except ConfigError as exc:  # no download source serves it: say where a copy would be read from
        raise ConfigError(exc.source, f"{exc.detail}; put {ARCHIVE_NAME} (or its extracted bigbench/benchmark_tasks "
                          f"tree) in {cache_dir}, or pass a task.json path") from None
    if not archive.is_file():
        raise ConfigError(cache_dir, f"{ARCHIVE_NAME} was not found after download")
    return archive


def _member_prefix(name: str) -> str:
    return f"{PROJECT}-{VERSION}/bigbench/benchmark_tasks/{name}/"


def extracted_tasks_dir(cache_dir: Path) -> Path | None:
    """``bigbench/benchmark_tasks`` extracted into ``cache_dir`` (from the sdist, or a clone of the
    BIG-bench repository), when there is one."""
    for candidate in (cache_dir / "bigbench" / "benchmark_tasks",
                      cache_dir / f"{PROJECT}-{VERSION}" / "bigbench" / "benchmark_tasks",
                      cache_dir / "BIG-bench" / "bigbench" / "benchmark_tasks"):
        if candidate.is_dir():
            return candidate
    return None


def read_task_jsons_from_dir(name: str, tasks_dir: Path) -> list[tuple[str, dict]]:
    """``read_task_jsons`` for an extracted tree."""
    top = tasks_dir / name / "task.json"
    if not top.is_file():
        raise ConfigError(tasks_dir, f"no BIG-bench task named {name!r}")
    try:
        data = json.loads(top.read_text(encoding="utf-8"))
        if "examples" in data:
            return [(f"bigbench:{name}", data)]
        return [(f"bigbench:{name}/{sub.parent.name}", json.loads(sub.read_text(encoding="utf-8")))
                for sub in sorted((tasks_dir / name).glob("*/task.json"))]
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(top, f"cannot read task {name!r}: {exc}") from None


def read_task_jsons(name: str, archive: Path) -> list[tuple[str, dict]]:
    """[(source, task.json)] for ``name``: the task itself, or each of its subtasks (``arithmetic`` ->
    ``arithmetic/1_digit_addition``, ...) when its own task.json has no examples. ``name`` may name one
    subtask (``arithmetic/1_digit_addition``)."""
    prefix = _member_prefix(name)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {m.name: m for m in tar.getmembers() if m.name.startswith(prefix) and m.name.endswith("/task.json")}
            top = members.get(prefix + "task.json")
            if top is None:
                raise KeyError(name)
            data = json.loads(tar.extractfile(top).read().decode("utf-8"))
            if "examples" in data:
                return [(f"bigbench:{name}", data)]
            subs = sorted(m for m in members if m.count("/") == prefix.count("/") + 1)
            return [(f"bigbench:{m[len(_member_prefix('')):-len('/task.json')]}",
                     json.loads(tar.extractfile(members[m]).read().decode("utf-8"))) for m in subs]
    except KeyError:
        raise ConfigError(archive, f"no BIG-bench task named {name!r}") from None
    except (tarfile.TarError, json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(archive, f"cannot read task {name!r}: {exc}") from None


def load_bigbench(name_or_path: str | Path, *, cache_dir: Path | None = None, max_examples: int | None = None,
                  split: SplitConfig | None = None, downloader=None) -> TaskSuite:
    """A ``TaskSuite`` from a BIG-bench task name (downloaded on first use) or a ``task.json`` path.
    A task with subtasks becomes a multi-task suite (one task per subtask, one shared prompt);
    ``max_examples`` then applies to each subtask."""
    path = Path(name_or_path)
    if path.suffix == ".json":
        if not path.is_file():
            raise ConfigError(path, "file does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(path, f"invalid JSON: {exc.msg}", f"line {exc.lineno}") from None
        return task_json_to_suite(data, str(path), max_examples=max_examples, split=split)
    cache_dir = cache_dir or default_cache_dir()
    tasks_dir = None if (cache_dir / ARCHIVE_NAME).is_file() else extracted_tasks_dir(cache_dir)
    if tasks_dir is not None:
        parts = read_task_jsons_from_dir(str(name_or_path), tasks_dir)
    else:
        parts = read_task_jsons(str(name_or_path), ensure_archive(cache_dir, downloader))
    if len(parts) == 1:
        return task_json_to_suite(parts[0][1], parts[0][0], max_examples=max_examples, split=split)
    suites = [task_json_to_suite(data, source, max_examples=max_examples, split=split) for source, data in parts]
    name = str(name_or_path).replace("/", "_")
    return TaskSuite(name, tuple(t for s in suites for t in s.tasks), tuple(e for s in suites for e in s.examples),
                     f"BIG-bench {name_or_path}: " + "; ".join(s.description for s in suites)[:300],
                     {"instruction": "", "max_tokens": 32}, f"bigbench:{name_or_path}")


def task_json_to_suite(data: dict, source: str, *, max_examples: int | None = None,
                       split: SplitConfig | None = None) -> TaskSuite:
    if not isinstance(data, dict) or "examples" not in data:
        raise ConfigError(source, "not a BIG-bench task: missing 'examples'")
    name = str(data.get("name") or Path(source).stem)
    metrics = data.get("metrics") or []
    raw = data["examples"][: max_examples] if max_examples else data["examples"]
    prefix = data.get("example_input_prefix", "")
    preferred = data.get("preferred_score")
    if preferred in ("exact_str_match", "multiple_choice_grade"):
        multiple_choice = preferred == "multiple_choice_grade"
    else:
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
