"""The quality benchmark takes any suite file as a task (``run.py --suite FILE``)."""
from benchmarks.quality.tasks import PER_SPLIT, SEED_INSTRUCTION, load_task
from tests.helpers import write_add_suite


def test_a_suite_file_is_a_benchmark_task(tmp_path):
    suite = load_task(str(write_add_suite(tmp_path, 50, 5, 5)))
    assert suite.seed_prompt["instruction"] == SEED_INSTRUCTION
    assert suite.counts() == {"train": PER_SPLIT, "val": 5, "test": 5}
