"""``OptimizationMemory``: what the optimizer remembers between iterations.

- ``lessons``: short "+"/"-" lines from accepted improvements and regressions (most recent
  ``max_lessons`` kept), e.g. ``+ demanded the bare number -> improved 0.20 -> 0.80``.
- ``recent``: detailed summaries of the last ``window`` iterations (change, targets, score before ->
  after, accepted or rejected and why).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OptimizationMemory:
    window: int = 3
    max_lessons: int = 12
    lessons: list = field(default_factory=list)
    recent: list = field(default_factory=list)

    def record(self, *, iteration: int, phase: str, change: str, targets: str, before: float, after: float,
               accepted: bool, reason: str) -> None:
        self.recent.append({"iteration": iteration, "phase": phase, "change": change, "targets": targets,
                            "before": before, "after": after, "accepted": accepted, "reason": reason})
        self.recent = self.recent[-self.window:]
        if change and after > before + 1e-9 and accepted:
            self.lessons.append(f"+ {change} -> improved {before:.2f} -> {after:.2f}")
        elif change and after < before - 1e-9:
            self.lessons.append(f"- {change} -> regression {before:.2f} -> {after:.2f}")
        self.lessons = self.lessons[-self.max_lessons:]

    def to_text(self) -> str:
        if not self.lessons and not self.recent:
            return "(no iterations yet)"
        lines = []
        if self.lessons:
            lines.append("Lessons so far:")
            lines += [f"  {lesson}" for lesson in self.lessons]
        if self.recent:
            lines.append(f"Last {len(self.recent)} iteration(s):")
            for r in self.recent:
                verdict = "accepted" if r["accepted"] else f"rejected ({r['reason']})"
                lines.append(f"  #{r['iteration']} [{r['phase']}] change: {r['change'] or '-'}; targets: "
                             f"{r['targets'] or '-'}; score {r['before']:.2f} -> {r['after']:.2f}; {verdict}")
        return "\n".join(lines)

    def state_dict(self) -> dict:
        return {"window": self.window, "max_lessons": self.max_lessons, "lessons": list(self.lessons),
                "recent": [dict(r) for r in self.recent]}

    @classmethod
    def from_state(cls, state: dict) -> "OptimizationMemory":
        return cls(state["window"], state["max_lessons"], list(state["lessons"]), [dict(r) for r in state["recent"]])


class IterationHistory:
    """What an iterative run remembers of its iterations: the optimizer's ``memory``, one full record per
    iteration (``records``: candidates, scores, the feedback and meta-prompt sent) and ``last``, the
    short record of the latest step (what the run loop logs)."""

    def __init__(self, window: int):
        self.memory = OptimizationMemory(window=window)
        self.records: list[dict] = []
        self.last: dict = {}

    def remember(self, *, iteration: int, phase: str, best, before: float, after: float, accepted: bool,
                 current, pending: list, feedback: str, meta_prompt: str) -> None:
        """An iteration ended: ``best`` (a candidate or None) was ``accepted`` or not, the score went from
        ``before`` to ``after``; ``pending`` are all its candidates, ``current`` the genome now current."""
        reason = "" if accepted else ((best.rejected if best else None) or "no valid candidate")
        self.memory.record(iteration=iteration, phase=phase, change=best.change if best else "",
                           targets=best.targets if best else "", before=before, after=after,
                           accepted=accepted, reason=reason)
        record = {
            "iteration": iteration, "phase": phase, "accepted": accepted,
            "score_before": before, "score_after": after, "current_id": current.id,
            "current_instruction": current.instruction,
            "candidates": [c.to_record() for c in pending], "feedback": feedback, "meta_prompt": meta_prompt,
        }
        self.records.append(record)
        self.last = {k: record[k] for k in ("iteration", "phase", "accepted", "score_before", "score_after")}
        self.last["rejections"] = [c.rejected for c in pending if c.rejected]
