"""The quality benchmark takes any suite file as a task (``run.py --suite FILE``)."""
from benchmarks.quality.tasks import PER_SPLIT, SEED_INSTRUCTION, load_task
from tests.helpers import write_add_suite


def test_a_suite_file_is_a_benchmark_task(tmp_path):
    suite = load_task(str(write_add_suite(tmp_path, 50, 5, 5)))
    assert suite.seed_prompt["instruction"] == SEED_INSTRUCTION
    assert suite.counts() == {"train": PER_SPLIT, "val": 5, "test": 5}


def test_the_default_tasks_build_offline_and_bigbench_is_optional():
    from benchmarks.quality.tasks import OPTIONAL, TASKS

    assert "count_objects" in TASKS and "boolean_expressions" in TASKS
    assert all(name.startswith("bigbench:") for name in OPTIONAL)
    for name in TASKS:
        suite = load_task(name)
        assert suite.counts()["test"] > 0 and suite.seed_prompt["instruction"] == SEED_INSTRUCTION


def _run(task, row, seed, mean, **extra):
    return {"task": task, "row": row, "seed": seed, "calls": 0 if row in ("seed", "reference") else 300,
            "test_scores": [mean] * 10, "task_calls": 300, **extra}


def test_the_table_checks_fair_anchors_against_their_own_seed_score():
    """A fair anchor's gain is over its own unoptimized program; its seed score is checked against the
    seed row's interval, and our rows are counted against every fair anchor."""
    from benchmarks.quality.run import summarize

    runs = [_run("t", "seed", 0, 0.2), _run("t", "reference", 0, 0.5, reference_best_test=0.5),
            _run("t", "iterative", 0, 0.6, candidates=10, finalists=1, n_val=10),
            _run("t", "miprov2-plain", 0, 0.5, dspy_seed_test=0.2),
            _run("t", "gepa-standalone", 0, 0.7, dspy_seed_test=0.1)]
    table, summary = summarize(runs, ["t"], ["seed", "reference", "iterative", "miprov2-plain", "gepa-standalone"])
    assert "anchor's seed score 0.200" in table
    # iterative gains 0.4; gepa-standalone gains 0.6 over its own seed (0.1): not >= every fair anchor
    assert summary["targets"]["iterative"]["gain_at_least_fair_anchors"] == 0
    assert summary["targets"]["miprov2-plain"] == {"anchor_seed_within_seed_ci": 1, "tasks": 1}
    assert summary["targets"]["gepa-standalone"] == {"anchor_seed_within_seed_ci": 0, "tasks": 1}
