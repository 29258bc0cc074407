"""BIG-bench without a download source: an extracted tree is read, and the error says where to put one."""
import json

import pytest

from evo.errors import ConfigError
from evo.tasks.bigbench import ARCHIVE_NAME, load_bigbench

TASK = {"name": "tiny", "description": "Count.", "metrics": ["exact_str_match"],
        "examples": [{"input": f"How many in {'x' * i}?", "target": str(i)} for i in range(1, 10)]}


def test_an_extracted_tree_is_read_in_place_of_the_archive(tmp_path):
    tasks = tmp_path / "bigbench" / "benchmark_tasks"
    (tasks / "tiny").mkdir(parents=True)
    (tasks / "tiny" / "task.json").write_text(json.dumps(TASK))
    for sub in ("a", "b"):
        (tasks / "multi" / sub).mkdir(parents=True)
        (tasks / "multi" / sub / "task.json").write_text(json.dumps({**TASK, "name": sub}))
    (tasks / "multi" / "task.json").write_text(json.dumps({"name": "multi", "description": "two"}))
    assert len(load_bigbench("tiny", cache_dir=tmp_path).examples) == 9
    assert len(load_bigbench("multi", cache_dir=tmp_path).tasks) == 2
    with pytest.raises(ConfigError, match="no BIG-bench task named 'nope'"):
        load_bigbench("nope", cache_dir=tmp_path)


def test_no_download_source_says_where_to_put_the_archive(tmp_path):
    def index_without_it(cache_dir):
        raise ConfigError("https://pypi.org/simple/bigbench/", f"the index lists no file {ARCHIVE_NAME}")
    with pytest.raises(ConfigError) as err:
        load_bigbench("object_counting", cache_dir=tmp_path, downloader=index_without_it)
    assert f"put {ARCHIVE_NAME}" in str(err.value) and str(tmp_path) in str(err.value) and "\n" not in str(err.value)
