"""Load a suite from a YAML file (examples inline or in a JSONL file beside it).

Single-task form::

    name: arithmetic
    input_template: "{question}"
    examples_file: arithmetic.jsonl      # or: examples: [{input: {...}, expected: ...}, ...]
    checks: [{kind: numeric}]
    split: {train: 0.4, val: 0.3, test: 0.3, seed: 0}

Multi-task form: the task keys (``input_template``, ``examples``/``examples_file``, ``checks``,
``pass_threshold``, ``description``) go under ``tasks: [{name: ..., ...}, ...]``.

Every problem is raised as a one-line ``ConfigError`` naming the file and the field or line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from evo.config_base import StrictConfig

from evo.errors import ConfigError, pydantic_error_to_config_error
from evo.files import read_jsonl, read_text, read_yaml  # noqa: F401 - re-exported (old import path)
from evo.genome import stable_hash
from evo.tasks.check_config import CheckConfig, build_check
from evo.tasks.suite import SPLITS, Example, JudgeLabel, Task, TaskSuite, template_fields
from evo.tasks.template import parse_template

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "suites"


class ExampleConfig(StrictConfig):
    id: str | None = None
    input: dict[str, Any] | str
    expected: Any
    split: Literal["train", "val", "test"] | None = None
    checks: list[CheckConfig] = []


class JudgeLabelConfig(StrictConfig):
    """A row of a ``judge_labels_file``: an output a human judged, to calibrate the task's llm_judge checks."""

    id: str | None = None
    input: dict[str, Any] | str
    output: str
    expected: Any = None
    label: Literal["pass", "fail"] | float = Field(description="pass, fail, or a score in [0, 1]")

    @field_validator("label")
    @classmethod
    def _unit(cls, v):
        if isinstance(v, float) and not 0.0 <= v <= 1.0:
            raise ValueError("a score label must be in [0, 1]")
        return v


class SplitConfig(StrictConfig):
    train: float = Field(0.4, ge=0, le=1)
    val: float = Field(0.3, ge=0, le=1)
    test: float = Field(0.3, ge=0, le=1)
    seed: int = Field(0, ge=0, lt=2**63)

    @model_validator(mode="after")
    def _sums_to_one(self):
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must sum to 1 (got {total:g})")
        return self


class _TaskFields(StrictConfig):
    description: str = ""
    input_template: str = "{input}"
    examples: list[ExampleConfig] | None = None
    examples_file: str | None = None
    checks: list[CheckConfig] = Field(default_factory=list)
    pass_threshold: float = Field(1.0, gt=0, le=1)
    judge_labels_file: str | None = Field(None, description="JSONL of outputs a human labelled pass/fail (or "
                                          "scored), to measure the llm_judge checks with `evo judge-check`")

    @field_validator("input_template")
    @classmethod
    def _valid_template(cls, v: str) -> str:
        parse_template(v)  # ValueError with the reason: plain {field} placeholders only
        return v

    @model_validator(mode="after")
    def _one_source(self):
        if (self.examples is None) == (self.examples_file is None):
            raise ValueError("give exactly one of 'examples' or 'examples_file'")
        return self


class TaskConfig(_TaskFields):
    name: str


class _SuiteCommon(StrictConfig):
    name: str
    description: str = ""
    seed_prompt: dict[str, Any] = Field(default_factory=dict)
    split: SplitConfig = Field(default_factory=SplitConfig)


class MultiTaskSuiteConfig(_SuiteCommon):
    tasks: list[TaskConfig] = Field(min_length=1)


class SingleTaskSuiteConfig(_TaskFields, _SuiteCommon):
    def as_task(self) -> TaskConfig:
        return TaskConfig.model_validate(self.model_dump(include=set(TaskConfig.model_fields)))


def builtin_suites() -> dict[str, Path]:
    """Built-in suite names mapped to their files."""
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.yaml"))}


def resolve_suite_path(name_or_path: str | Path) -> Path:
    """A path as given if it exists, else the built-in suite of that name."""
    path = Path(name_or_path)
    if path.exists():
        return path
    builtin = builtin_suites().get(str(name_or_path))
    if builtin is not None:
        return builtin
    names = ", ".join(builtin_suites()) or "none"
    raise ConfigError(str(name_or_path), f"no such suite file or built-in suite (built-ins: {names})")


def load_suite(name_or_path: str | Path) -> TaskSuite:
    """Load and validate a suite file (or a built-in suite by name)."""
    path = resolve_suite_path(name_or_path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(path, "a suite file must be a mapping with at least 'name' and examples")
    model = MultiTaskSuiteConfig if "tasks" in raw else SingleTaskSuiteConfig
    try:
        cfg = model.model_validate(raw)
    except ValidationError as exc:
        raise pydantic_error_to_config_error(path, exc) from None
    task_cfgs = cfg.tasks if isinstance(cfg, MultiTaskSuiteConfig) else [cfg.as_task()]
    names = [t.name for t in task_cfgs]
    if len(set(names)) != len(names):
        raise ConfigError(path, "task names must be unique", "tasks")

    tasks, examples = [], []
    multi = isinstance(cfg, MultiTaskSuiteConfig)
    for t_index, tcfg in enumerate(task_cfgs):
        prefix = f"tasks[{t_index}]." if multi else ""
        task = Task(
            name=tcfg.name,
            input_template=tcfg.input_template,
            checks=tuple(_build_checks(tcfg.checks, path, prefix + "checks")),
            pass_threshold=tcfg.pass_threshold,
            description=tcfg.description,
            judge_labels=_load_judge_labels(tcfg, path, prefix),
        )
        task_examples = _load_examples(tcfg, task, path, prefix)
        if not task.checks and not all(ex.checks for ex in task_examples):
            raise ConfigError(path, "a task needs at least one check (or one on every example)", prefix + "checks")
        tasks.append(task)
        examples.extend(task_examples)
    examples = assign_splits(examples, cfg.split)
    try:
        return TaskSuite(cfg.name, tuple(tasks), tuple(examples), cfg.description, cfg.seed_prompt, str(path))
    except ValueError as exc:
        raise ConfigError(path, str(exc)) from None


def _build_checks(cfgs, path: Path, field: str) -> list:
    out = []
    for i, c in enumerate(cfgs):
        try:
            out.append(build_check(c, path.parent))
        except ValueError as exc:
            raise ConfigError(path, str(exc), f"{field}[{i}].ref") from None
    return out


def _load_judge_labels(tcfg: TaskConfig, path: Path, prefix: str) -> tuple[JudgeLabel, ...]:
    if tcfg.judge_labels_file is None:
        return ()
    data_path = (path.parent / tcfg.judge_labels_file).resolve()
    if not data_path.is_file():
        raise ConfigError(path, f"judge labels file {tcfg.judge_labels_file!r} does not exist",
                          prefix + "judge_labels_file")
    out = []
    for number, obj in read_jsonl(data_path):
        try:
            row = JudgeLabelConfig.model_validate(obj)
        except ValidationError as exc:
            err = pydantic_error_to_config_error(data_path, exc)
            raise ConfigError(data_path, err.detail, f"line {number}: {err.field}" if err.field else f"line {number}") from None
        inputs = row.input if isinstance(row.input, dict) else {"input": row.input}
        out.append(JudgeLabel(row.id or f"{tcfg.name}-label-{number}", inputs, row.output, row.expected, row.label))
    if not out:
        raise ConfigError(data_path, "the judge labels file holds no rows")
    return tuple(out)


def _load_examples(tcfg: TaskConfig, task: Task, path: Path, prefix: str) -> list[Example]:
    if tcfg.examples is not None:
        entries = [(f"{prefix}examples[{i}]", path, ex) for i, ex in enumerate(tcfg.examples)]
    else:
        data_path = (path.parent / tcfg.examples_file).resolve()
        if not data_path.is_file():
            raise ConfigError(path, f"examples file {tcfg.examples_file!r} does not exist", prefix + "examples_file")
        entries = []
        for number, obj in read_jsonl(data_path):
            try:
                entries.append((f"line {number}", data_path, ExampleConfig.model_validate(obj)))
            except ValidationError as exc:
                err = pydantic_error_to_config_error(data_path, exc)
                raise ConfigError(data_path, err.detail, f"line {number}: {err.field}" if err.field else f"line {number}") from None
    if not entries:
        if tcfg.examples_file is not None:
            raise ConfigError(path.parent / tcfg.examples_file, "the examples file holds no examples")
        raise ConfigError(path, "the task has no examples", prefix + "examples")
    needed = template_fields(task.input_template)
    out = []
    for index, (where, source, ecfg) in enumerate(entries):
        inputs = ecfg.input if isinstance(ecfg.input, dict) else {"input": ecfg.input}
        missing = needed - set(inputs)
        if missing:
            raise ConfigError(source, f"input lacks field(s) {sorted(missing)} used by input_template", where)
        extra = _build_checks(ecfg.checks, source, f"{where}.checks")
        out.append(Example(
            id=ecfg.id or f"{task.name}-{index}",
            task=task.name,
            inputs=inputs,
            expected=ecfg.expected,
            split=ecfg.split or "",
            checks=tuple(extra),
        ))
    return out


def assign_splits(examples: list[Example], split: SplitConfig) -> list[Example]:
    """Examples without an explicit split get one by seeded ratios, per task (stratified)."""
    by_task: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        if not ex.split:
            by_task.setdefault(ex.task, []).append(i)
    result = list(examples)
    for task, indices in by_task.items():
        seed = int(stable_hash([split.seed, task], size=8), 16)
        order = np.random.default_rng(seed).permutation(len(indices))
        n = len(indices)
        n_train = int(round(split.train * n))
        if split.train > 0:
            n_train = max(n_train, 1)  # one example must not all go to held-out splits
        n_val = int(round(split.val * n))
        n_val = min(n_val, n - n_train)
        for rank, pos in enumerate(order):
            name = "train" if rank < n_train else "val" if rank < n_train + n_val else "test"
            ex = examples[indices[pos]]
            result[indices[pos]] = Example(ex.id, ex.task, ex.inputs, ex.expected, name, ex.checks)
    assert all(ex.split in SPLITS for ex in result)
    return result
