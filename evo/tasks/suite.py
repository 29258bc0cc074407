"""In-memory model of eval suites: ``Example``, ``Task`` and ``TaskSuite``.

A suite holds one or more related tasks optimized with one shared prompt. Every example belongs to a
task and to exactly one split (``train``, ``val`` or ``test``). Objects here are immutable after
construction; loaders (``evo.tasks.loader``, ``evo.tasks.bigbench``) build them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

from evo.tasks.checks import Check, CheckResult
from evo.tasks.template import render_template, template_fields  # noqa: F401 - template_fields re-exported

SPLITS = ("train", "val", "test")


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    task: str
    inputs: Mapping[str, Any]
    expected: Any
    split: str
    checks: tuple[Check, ...] = ()  # extra checks for this example only


@dataclass(frozen=True, slots=True)
class JudgeLabel:
    """A human's verdict on one output, for calibrating a judge (``evo judge-check``): ``label`` is
    ``pass``/``fail`` or a score in [0, 1]."""

    id: str
    inputs: Mapping[str, Any]
    output: str
    expected: Any
    label: str | float

    @property
    def label_score(self) -> float:
        return 1.0 if self.label == "pass" else 0.0 if self.label == "fail" else float(self.label)


@dataclass(frozen=True)
class Task:
    name: str
    input_template: str
    checks: tuple[Check, ...]
    pass_threshold: float = 1.0
    description: str = ""
    judge_labels: tuple[JudgeLabel, ...] = ()  # labelled outputs to calibrate the task's judge checks

    def render_input(self, example: Example) -> str:
        """The user-visible input text of ``example`` (the template filled with its fields)."""
        return render_template(self.input_template, example.inputs)

    def checks_for(self, example: Example) -> tuple[Check, ...]:
        return self.checks + example.checks

    def score(self, results: Sequence[CheckResult]) -> tuple[float, bool, str | None]:
        """Weighted mean score of check results, whether it reaches ``pass_threshold``, and the
        category of the heaviest failing check (``wrong_answer`` if the checks all passed but the
        weighted score is still under the threshold)."""
        total_w = sum(r.weight for r in results)
        score = sum(r.score * r.weight for r in results) / total_w if total_w else 0.0
        passed = score >= self.pass_threshold - 1e-9
        category = None
        if not passed:
            failing = [r for r in results if not r.passed]
            category = max(failing, key=lambda r: r.weight).category if failing else "wrong_answer"
        return score, passed, category




@dataclass(frozen=True)
class TaskSuite:
    name: str
    tasks: tuple[Task, ...]
    examples: tuple[Example, ...]
    description: str = ""
    seed_prompt: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self):
        tasks = {t.name: t for t in self.tasks}
        by_id = {}
        for ex in self.examples:
            if ex.task not in tasks:
                raise ValueError(f"example {ex.id!r} names unknown task {ex.task!r}")
            if ex.split not in SPLITS:
                raise ValueError(f"example {ex.id!r} has split {ex.split!r}; expected one of {SPLITS}")
            if ex.id in by_id:
                raise ValueError(f"duplicate example id {ex.id!r}")
            by_id[ex.id] = ex
        object.__setattr__(self, "_tasks", tasks)
        object.__setattr__(self, "_by_id", by_id)

    def task(self, name: str) -> Task:
        return self._tasks[name]

    def example(self, example_id: str) -> Example:
        return self._by_id[example_id]

    def task_of(self, example_id: str) -> str | None:
        """The task of the example ``example_id`` (``None``: no such example)."""
        example = self._by_id.get(example_id)
        return example.task if example is not None else None

    def split(self, *names: str) -> list[Example]:
        """Examples of the named splits (all when none are named), in suite order."""
        wanted = set(names) if names else set(SPLITS)
        unknown = wanted - set(SPLITS)
        if unknown:
            raise ValueError(f"unknown split(s) {sorted(unknown)}; expected {SPLITS}")
        return [ex for ex in self.examples if ex.split in wanted]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for ex in self.examples if ex.split == s) for s in SPLITS}

    def limit(self, train: int | None = None, val: int | None = None, test: int | None = None) -> "TaskSuite":
        """The first ``train``/``val``/``test`` examples of each split (``None``: all of it), ordered
        train, then val, then test."""
        keep: list[Example] = []
        for split, cap in (("train", train), ("val", val), ("test", test)):
            examples = self.split(split)
            keep += examples[:cap] if cap else examples
        return self.subset(keep)

    def judge_checks(self) -> list[Check]:
        """The checks that need a judge model (those with ``bound``: ``llm_judge``)."""
        checks = [c for t in self.tasks for c in t.checks] + [c for ex in self.examples for c in ex.checks]
        return [c for c in checks if hasattr(c, "bound")]

    def judge_calls_per_output(self) -> int:
        """The most judge calls scoring one output of this suite makes (0: no judge check)."""
        per_task = {t.name: sum(getattr(c, "judge_calls", 0) for c in t.checks) for t in self.tasks}
        most = max(per_task.values(), default=0)
        for ex in self.examples:
            if ex.checks:
                most = max(most, per_task[ex.task] + sum(getattr(c, "judge_calls", 0) for c in ex.checks))
        return most

    def with_judge(self, judge) -> "TaskSuite":
        """This suite with ``judge`` (an ``LLMBackend``) bound to its judge checks; itself when it has none."""
        if not self.judge_checks():
            return self

        def bind(checks):
            return tuple(c.bound(judge) if hasattr(c, "bound") else c for c in checks)
        tasks = tuple(replace(t, checks=bind(t.checks)) for t in self.tasks)
        examples = tuple(replace(ex, checks=bind(ex.checks)) if ex.checks else ex for ex in self.examples)
        return TaskSuite(self.name, tasks, examples, self.description, self.seed_prompt, self.source)

    def subset(self, examples: Iterable[Example]) -> "TaskSuite":
        return TaskSuite(self.name, self.tasks, tuple(examples), self.description, self.seed_prompt, self.source)
