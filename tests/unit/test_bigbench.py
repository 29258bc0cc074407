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
