"""Per-example records and the ``EvalBatch`` that aggregates them (all immutable).

An ``EvalBatch`` holds records in the order of the examples given to the evaluator. Aggregates are
computed from the records on demand; nothing here talks to a model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

from evo.tasks.checks import CheckResult


@dataclass(frozen=True, slots=True)
class ExampleRecord:
    example_id: str
    task: str
    split: str
    input_text: str
    expected: object
    output: str
    answer: str
    score: float
    passed: bool
    checks: tuple[CheckResult, ...] = ()
    category: str | None = None
    latency_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    error: str | None = None
    sample_index: int = 0
    copied_demo: bool = False  # the answer is identical to a few-shot demo's answer (a pass may be a coincidence)

    @property
    def judge_usage(self) -> dict:
        """The judge calls its checks made (``llm_judge``), summed: calls, cached, tokens, usd, errors."""
        return sum_usage(c.usage for c in self.checks if c.usage)

    def to_json(self) -> dict:
        return {
            "example_id": self.example_id, "task": self.task, "split": self.split,
            "input_text": self.input_text, "expected": self.expected, "output": self.output,
            "answer": self.answer, "score": self.score, "passed": self.passed,
            "checks": [c.to_json() for c in self.checks], "category": self.category,
            "latency_s": self.latency_s, "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens, "cost_usd": self.cost_usd, "cached": self.cached,
            "error": self.error, "sample_index": self.sample_index, "copied_demo": self.copied_demo,
        }


USAGE_KEYS = ("calls", "cached", "input_tokens", "output_tokens", "usd", "errors")


def sum_usage(usages) -> dict:
    total = dict.fromkeys(USAGE_KEYS, 0)
    total["usd"] = 0.0
    for usage in usages:
        for key in USAGE_KEYS:
            total[key] += usage.get(key, 0)
    return total


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass(frozen=True)
class EvalBatch:
    genome_id: str
    records: tuple[ExampleRecord, ...]
    wall_s: float = 0.0
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "records", tuple(self.records))

    @property
    def n(self) -> int:
        return len(self.records)

    @cached_property
    def n_passed(self) -> int:
        return sum(1 for r in self.records if r.passed)

    @property
    def pass_rate(self) -> float:
        return self.n_passed / self.n if self.n else 0.0

    @cached_property
    def mean_score(self) -> float:
        return sum(r.score for r in self.records) / self.n if self.n else 0.0

    @property
    def n_errors(self) -> int:
        return sum(1 for r in self.records if r.error)

    @property
    def n_copied_demo(self) -> int:
        """Outputs identical to a demo's answer (failed or, by coincidence, passed)."""
        return sum(1 for r in self.records if r.copied_demo)

    @property
    def n_cached(self) -> int:
        return sum(1 for r in self.records if r.cached)

    @property
    def input_tokens(self) -> int:
        return sum(r.input_tokens for r in self.records)

    @property
    def output_tokens(self) -> int:
        return sum(r.output_tokens for r in self.records)

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd for r in self.records)

    @cached_property
    def judge_usage(self) -> dict:
        """What the records' judge checks spent (``sum_usage``); all zero without an ``llm_judge`` check."""
        return sum_usage(r.judge_usage for r in self.records)

    @property
    def latency_mean_s(self) -> float:
        lat = [r.latency_s for r in self.records if not r.error]
        return sum(lat) / len(lat) if lat else 0.0

    @property
    def latency_p95_s(self) -> float:
        return percentile([r.latency_s for r in self.records if not r.error], 0.95)

    def per_task(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for r in self.records:
            t = out.setdefault(r.task, {"n": 0, "passed": 0, "score_sum": 0.0})
            t["n"] += 1
            t["passed"] += r.passed
            t["score_sum"] += r.score
        return {k: {"n": v["n"], "passed": v["passed"], "pass_rate": v["passed"] / v["n"],
                    "mean_score": v["score_sum"] / v["n"]} for k, v in out.items()}

    def summary(self) -> dict:
        return {
            "genome_id": self.genome_id, "n": self.n, "passed": self.n_passed,
            "pass_rate": self.pass_rate, "mean_score": self.mean_score, "errors": self.n_errors,
            "copied_demo": self.n_copied_demo,
            "passed_copied_demo": sum(1 for r in self.records if r.copied_demo and r.passed),
            "cached": self.n_cached, "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens, "cost_usd": self.cost_usd,
            "latency_mean_s": self.latency_mean_s, "latency_p95_s": self.latency_p95_s,
            "wall_s": self.wall_s, "per_task": self.per_task(),
            **({"judge": self.judge_usage} if self.judge_usage["calls"] else {}),
        }

    def to_json(self) -> dict:
        return {"summary": self.summary(), "records": [r.to_json() for r in self.records], "meta": self.meta}
