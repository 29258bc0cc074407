"""``Feedback``: what an ``EvalBatch``'s failures say, for people (CLI) and optimizer models.

- pass/fail counts (``"7/10 passed"``);
- expected-vs-actual diffs for a capped, representative set of failures (round-robin over
  categories, so a rare category is not crowded out by a common one);
- failures grouped by category, each with data-driven descriptions computed from the actual outputs
  (counts, length statistics, recurring patterns), a likely root cause and a recommended fix.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from evo.evaluation.records import EvalBatch, ExampleRecord
from evo.tasks.checks import normalize_text

ROOT_CAUSES = {
    "empty_output": ("the model produced no answer text",
                     "ask explicitly for a non-empty answer and show the answer format"),
    "refusal": ("the model declined the task",
                "state plainly that the task is benign and what to output"),
    "verbosity": ("the right answer is wrapped in extra words",
                  "demand the bare answer only (no explanation, no restating the question) and show one example"),
    "format_violation": ("the output does not have the required format",
                         "specify the exact output format and give an example of it"),
    "wrong_answer": ("the output has the right shape but the wrong content",
                     "clarify the task's rule or method; add a worked example of a hard case"),
    "copied_demo": ("the model repeats a few-shot demo's answer instead of answering the input",
                    "use several varied demos (or none) and say the demos only show the format"),
    "error": ("the call or a check failed (backend error, timeout, broken assertion)",
              "check backend availability; shorten the prompt if it exceeds the context"),
}


@dataclass(frozen=True)
class Diff:
    example_id: str
    task: str
    input_text: str
    expected: object
    actual: str
    category: str | None
    message: str


@dataclass(frozen=True)
class CategoryReport:
    name: str
    count: int
    share: float
    example_ids: tuple[str, ...]
    patterns: tuple[str, ...]
    root_cause: str
    fix: str


@dataclass(frozen=True)
class Feedback:
    n: int
    n_passed: int
    diffs: tuple[Diff, ...]
    categories: tuple[CategoryReport, ...]
    per_task: dict = field(default_factory=dict)
    passed_copied_demo: int = 0

    @property
    def headline(self) -> str:
        copied = (f" ({self.passed_copied_demo} of them only repeat a demo's answer)"
                  if self.passed_copied_demo else "")
        return f"{self.n_passed}/{self.n} passed{copied}"

    def to_text(self, include_diffs: bool = True) -> str:
        lines = [f"Results: {self.headline} ({self.n_passed / self.n:.0%})." if self.n else "Results: no examples."]
        if len(self.per_task) > 1:
            lines += [f"- task {t}: {v['passed']}/{v['n']} passed" for t, v in self.per_task.items()]
        if self.categories:
            lines.append("Failure categories:")
            for c in self.categories:
                lines.append(f"- {c.name}: {c.count} ({c.share:.0%} of failures)")
                lines += [f"    pattern: {p}" for p in c.patterns]
                lines.append(f"    likely cause: {c.root_cause}; fix: {c.fix}")
        if include_diffs and self.diffs:
            lines.append("Failed examples (expected vs actual):")
            for d in self.diffs:
                lines.append(f"- input: {_clip(d.input_text, 160)!r}")
                lines.append(f"  expected: {_clip(str(d.expected), 120)!r}  actual: {_clip(d.actual, 160)!r}"
                             + (f"  [{d.category}]" if d.category else ""))
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "n": self.n, "n_passed": self.n_passed,
            "diffs": [d.__dict__ for d in self.diffs],
            "categories": [c.__dict__ for c in self.categories],
            "per_task": self.per_task, "passed_copied_demo": self.passed_copied_demo,
        }


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _words(text: str) -> int:
    return len(str(text).split())


def describe_failures(records: list[ExampleRecord]) -> list[str]:
    """Data-driven descriptions of a group of failed records (counts and recurring patterns)."""
    n = len(records)
    if not n:
        return []
    patterns = []
    empty = sum(1 for r in records if not r.answer.strip())
    if empty:
        patterns.append(f"{empty} of {n} are empty")
    if empty == n:
        return patterns
    records = [r for r in records if r.answer.strip()]
    n = len(records)
    out_len = sum(_words(r.answer) for r in records) / n
    exp_len = sum(_words(str(r.expected)) for r in records) / n
    if out_len > 1.5 * exp_len + 1:
        patterns.append(f"{n} output(s) average {out_len:.1f} words vs {exp_len:.1f} expected")
    elif out_len < 0.5 * exp_len:
        patterns.append(f"{n} output(s) average {out_len:.1f} words vs {exp_len:.1f} expected (too short)")
    contains = sum(1 for r in records if str(r.expected).strip() and
                   normalize_text(str(r.expected)) in normalize_text(r.answer))
    if contains:
        patterns.append(f"{contains} of {n} contain the expected answer inside extra text")
    first_words = Counter(r.answer.split()[0].lower().strip(".,:;!") for r in records if r.answer.split())
    if first_words:
        word, count = first_words.most_common(1)[0]
        if count >= 2 and count / n >= 0.3:
            patterns.append(f"{count} of {n} start with {word!r}")
    numeric = [r for r in records if re.fullmatch(r"-?\d+(\.\d+)?", str(r.expected).strip())]
    if numeric:
        no_digit = sum(1 for r in numeric if not re.search(r"\d", r.answer))
        if no_digit:
            patterns.append(f"{no_digit} of {len(numeric)} numeric answers contain no digits")
    messages = Counter(c.message.split(",")[0] for r in records for c in r.checks if not c.passed and c.message)
    if records[0].error is not None:
        messages = Counter(r.error.split(":")[0] for r in records if r.error)
    for msg, count in messages.most_common(2):
        if count >= 2 or n == 1:
            patterns.append(f"{count}x: {_clip(msg, 100)}")
    return patterns


def build_feedback(batch: EvalBatch, max_diffs: int = 8) -> Feedback:
    failures = [r for r in batch.records if not r.passed]
    groups: dict[str, list[ExampleRecord]] = {}
    for r in failures:
        groups.setdefault(r.category or "wrong_answer", []).append(r)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    categories = tuple(
        CategoryReport(
            name, len(recs), len(recs) / len(failures), tuple(r.example_id for r in recs),
            tuple(describe_failures(recs)), *ROOT_CAUSES.get(name, ("unclassified failure", "inspect the diffs")),
        )
        for name, recs in ordered
    )
    diffs: list[Diff] = []
    queues = [list(recs) for _, recs in ordered]
    while len(diffs) < max_diffs and any(queues):
        for q in queues:
            if q and len(diffs) < max_diffs:
                r = q.pop(0)
                msg = r.error or "; ".join(c.message for c in r.checks if not c.passed and c.message)
                diffs.append(Diff(r.example_id, r.task, r.input_text, r.expected, r.answer, r.category, msg))
    return Feedback(batch.n, batch.n_passed, tuple(diffs), categories, batch.per_task(),
                    sum(1 for r in batch.records if r.copied_demo and r.passed))
