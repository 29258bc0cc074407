"""The benchmark's tasks, splits, seed prompt and metric — shared by the main process and the DSPy
runner (which imports only ``evo.tasks``: no model, no MLflow, no Ray in the DSPy virtualenv).

Five tasks that build on a fresh machine with no download: the three hand-written built-in suites
(``arithmetic``, ``dates``, ``numbers``) and two built-in suites generated in code in the style of
BIG-bench Hard (``count_objects``: a number; ``boolean_expressions``: True / False; see
``evo/tasks/generators.py``), 40 train / 40 val / 40 test examples at most, with the suites' own
splits. They replace BIG-bench's ``object_counting`` and ``sports_understanding``, whose archive the
package index no longer serves; those two stay available as ``--tasks bigbench:<name>`` where a copy
of the archive (or its extracted tasks) is in the BIG-bench cache. The seed prompt is the same
one-line instruction everywhere; the metric is each task's own checks.
"""
from __future__ import annotations

from pathlib import Path

from evo.tasks.bigbench import load_bigbench
from evo.tasks.loader import SplitConfig, load_suite
from evo.tasks.suite import Example, TaskSuite

SEED_INSTRUCTION = "Answer the question."
BUILTIN = ("arithmetic", "dates", "numbers")
GENERATED = ("count_objects", "boolean_expressions")  # evo/tasks/generators.py
BIGBENCH = ("bigbench:object_counting", "bigbench:sports_understanding")  # needs the archive (evo.tasks.bigbench)
TASKS = BUILTIN + GENERATED
OPTIONAL = BIGBENCH
PER_SPLIT = 40


def load_task(name: str) -> TaskSuite:
    """The suite of benchmark task ``name`` with the benchmark's seed prompt (instruction only; the
    suite's own max_tokens kept)."""
    if name in BUILTIN + GENERATED:
        suite = load_suite(name)
        keep = [e for split in ("train", "val", "test") for e in suite.split(split)[:PER_SPLIT]]
        suite = suite.subset(keep)
    elif name.endswith((".yaml", ".yml")) and Path(name).is_file():  # `run.py --suite FILE`: any suite file
        suite = load_suite(name)
        keep = [e for split in ("train", "val", "test") for e in suite.split(split)[:PER_SPLIT]]
        suite = suite.subset(keep)
    elif name in BIGBENCH:
        suite = load_bigbench(name.split(":", 1)[1], max_examples=3 * PER_SPLIT, split=SplitConfig(train=1 / 3, val=1 / 3, test=1 / 3))
    else:
        raise ValueError(f"unknown benchmark task {name!r}; expected one of {TASKS + OPTIONAL} or a suite file")
    seed_prompt = {**(suite.seed_prompt or {}), "instruction": SEED_INSTRUCTION}
    return TaskSuite(suite.name, suite.tasks, suite.examples, suite.description, seed_prompt, suite.source)


def score_answer(suite: TaskSuite, example: Example, answer: str) -> float:
    """The task's own score of an answer produced elsewhere (e.g. by a DSPy program)."""
    task = suite.task(example.task)
    results = tuple(check(answer, example.expected, example.inputs) for check in task.checks_for(example))
    return task.score(results)[0]
