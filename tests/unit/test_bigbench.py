"""BIG-bench task.json loading: from a file, and from the sdist archive (a small synthetic one)."""
import io
import json
import tarfile

import pytest

from evo.errors import ConfigError
from evo.tasks.bigbench import ARCHIVE_NAME, load_bigbench

EXACT = {"name": "copy_word", "description": "Copy the word.", "metrics": ["exact_str_match"],
         "task_prefix": "Repeat the word.", "examples": [{"input": f"w{i}", "target": [f"w{i}"]} for i in range(10)]}
MC = {"name": "pick", "metrics": ["multiple_choice_grade"],
      "examples": [{"input": f"Is {i} even?", "target_scores": {"yes": int(i % 2 == 0), "no": int(i % 2)}}
                   for i in range(10)]}


def test_exact_task_from_file(tmp_path):
    path = tmp_path / "task.json"
    path.write_text(json.dumps(EXACT))
    suite = load_bigbench(path)
    assert suite.name == "copy_word" and len(suite.examples) == 10
    assert suite.seed_prompt["instruction"] == "Repeat the word."
    check = suite.tasks[0].checks[0]
    ex = suite.examples[0]
    assert check(" W0. ", ex.expected, ex.inputs).passed


def test_multiple_choice_task(tmp_path):
    path = tmp_path / "task.json"
    path.write_text(json.dumps(MC))
    suite = load_bigbench(path, max_examples=6)
    ex = suite.examples[1]
    assert len(suite.examples) == 6 and ex.expected == "no" and "Options: yes; no" in ex.inputs["input"]
    check = suite.tasks[0].checks[0]
    assert check("no", ex.expected, ex.inputs).passed and not check("yes", ex.expected, ex.inputs).passed


def test_archive_download_once_and_extract(tmp_path):
    calls = []

    def fake_download(dest):
        calls.append(dest)
        data = json.dumps(EXACT).encode()
        with tarfile.open(dest / ARCHIVE_NAME, "w:gz") as tar:
            info = tarfile.TarInfo("bigbench-1.0.0/bigbench/benchmark_tasks/copy_word/task.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    suite = load_bigbench("copy_word", cache_dir=tmp_path, downloader=fake_download)
    assert len(suite.examples) == 10
    load_bigbench("copy_word", cache_dir=tmp_path, downloader=fake_download)
    assert len(calls) == 1
    with pytest.raises(ConfigError, match="no BIG-bench task named 'nope'"):
        load_bigbench("nope", cache_dir=tmp_path, downloader=fake_download)


def test_unsupported_metric(tmp_path):
    path = tmp_path / "task.json"
    path.write_text(json.dumps({"name": "x", "metrics": ["bleu"], "examples": [{"input": "a", "target": "b"}]}))
    with pytest.raises(ConfigError, match="unsupported metrics"):
        load_bigbench(path)


def _registry_reachable() -> str | None:
    import httpx
    from evo.tasks.bigbench import index_file
    try:
        with httpx.Client(timeout=10, follow_redirects=True) as client:
            index_file("bigbench-0.0.1.tar.gz", client=client)
    except Exception as exc:  # noqa: BLE001 - any failure means: cannot test the real path here
        return f"package index not reachable: {exc}"
    return None


def test_real_registry_download_path(tmp_path):
    """The real path (pip's index, Simple API, streamed download, sha256 against index and pin, atomic
    rename) on the small bigbench 0.0.1 sdist; 1.0.0 goes through the same code."""
    reason = _registry_reachable()
    if reason:
        pytest.skip(reason)
    from evo.tasks.bigbench import registry_download
    path = registry_download(tmp_path, "bigbench-0.0.1.tar.gz")
    assert path.name == "bigbench-0.0.1.tar.gz" and not (tmp_path / "bigbench-0.0.1.tar.gz.part").exists()
    with tarfile.open(path, "r:gz") as tar:
        assert any(m.name.endswith("setup.py") for m in tar.getmembers())


def test_hash_mismatch_is_rejected_and_nothing_is_cached(tmp_path, monkeypatch):
    reason = _registry_reachable()
    if reason:
        pytest.skip(reason)
    from evo.tasks import bigbench
    monkeypatch.setitem(bigbench.PINNED_SHA256, "bigbench-0.0.1.tar.gz", "0" * 64)
    with pytest.raises(ConfigError, match="sha256 mismatch with the pinned hash"):
        bigbench.registry_download(tmp_path, "bigbench-0.0.1.tar.gz")
    assert list(tmp_path.iterdir()) == []


def test_task_with_subtasks_is_a_multi_task_suite(tmp_path):
    """BIG-bench's arithmetic layout: a top task.json without examples, one directory per subtask;
    exact_str_match is preferred although multiple_choice_grade is listed too."""
    def sub(name, op):
        return {"name": name, "preferred_score": "exact_str_match", "metrics": ["exact_str_match", "multiple_choice_grade"],
                "examples": [{"input": f"What is {i} {op} 1?", "target": str(i - 1 if op == "minus" else i + 1),
                              "target_scores": {"7": 0.0, "banana": 0.0}} for i in range(10)]}
    files = {"arith/task.json": {"name": "arith", "description": "Four operations"},
             "arith/1_plus/task.json": sub("1_plus", "plus"), "arith/1_minus/task.json": sub("1_minus", "minus")}

    def fake_download(dest):
        with tarfile.open(dest / ARCHIVE_NAME, "w:gz") as tar:
            for name, content in files.items():
                data = json.dumps(content).encode()
                info = tarfile.TarInfo(f"bigbench-1.0.0/bigbench/benchmark_tasks/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    suite = load_bigbench("arith", cache_dir=tmp_path, downloader=fake_download, max_examples=6)
    assert [t.name for t in suite.tasks] == ["1_minus", "1_plus"] and len(suite.examples) == 12
    assert type(suite.tasks[0].checks[0]).__name__ == "NormalizedCheck"  # the preferred score
    minus = [e for e in suite.examples if e.task == "1_minus"]
    assert {e.split for e in minus} == {"train", "val", "test"}  # every subtask has its own splits
    one = load_bigbench("arith/1_minus", cache_dir=tmp_path, downloader=fake_download)
    assert one.name == "1_minus" and len(one.examples) == 10
