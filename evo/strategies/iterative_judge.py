"""Which candidate of an iterative step wins, and why the others do not (pure: no state, no model).

``judge_train``: the best valid candidate on the whole train split is accepted when it scores at least
the current instruction (strictly more while the current pass rate is below ``strict_below``).
``judge_validation``: a candidate that breaks a training case the current instruction passed is
rejected (the broken cases go back to the optimizer); of the rest, the best on val is accepted by the
same rule. Every rejected candidate carries its reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from evo.evaluation.feedback import build_feedback
from evo.evaluation.records import EvalBatch
from evo.operators.structural import passed_replies
from evo.genome import PromptGenome


def accepts(current: dict, score: float, strict_below: float) -> bool:
    """The acceptance rule of both phases: ``>=`` the current score, but a strict improvement while the
    current pass rate is below ``strict_below``."""
    if current["pass_rate"] < strict_below:
        return score > current["score"] + 1e-12
    return score >= current["score"] - 1e-12


def summarize(batch: EvalBatch) -> dict:
    """Pass rate, mean score, the passing ids and the failing ids by category."""
    failing: dict[str, list[str]] = {}
    for r in batch.records:
        if not r.passed:
            failing.setdefault(r.category or "wrong_answer", []).append(r.example_id)
    return {"pass_rate": batch.pass_rate, "score": batch.mean_score,
            "passed": sorted(r.example_id for r in batch.records if r.passed), "failing": failing}


@dataclass
class Incumbent:
    """The instruction candidates are judged against (``genome``), its train and val summaries, and
    what the optimizer is told about it (feedback texts, training cases the last candidates broke)."""

    genome: PromptGenome
    train: dict | None = None
    val: dict | None = None
    train_feedback: str = ""
    feedback_short: str = ""
    val_feedback: str = ""
    broken_cases: list = field(default_factory=list)

    def set_train(self, batch: EvalBatch, config) -> None:
        """Its train results: the summary, a one-paragraph and a full feedback text (``config``:
        ``max_diffs``, ``feedback_detail``)."""
        self.train = summarize(batch)
        if getattr(config, "bootstrap_demos", False):  # the material of a bootstrapped-demos variant
            self.train["replies"] = passed_replies(batch)
        fb = build_feedback(batch, max_diffs=config.max_diffs)
        top = fb.categories[0] if fb.categories else None
        self.feedback_short = f"{fb.headline}." + (
            f" Most failures are {top.name} ({top.count}): {top.root_cause}; fix: {top.fix}." if top else "")
        if fb.diffs:
            d = fb.diffs[0]
            self.feedback_short += f" Example: for {d.input_text!r} it answered {d.actual!r}, expected {d.expected!r}."
        if config.feedback_detail == "counts":
            self.train_feedback = f"Results: {fb.headline}."
        else:
            self.train_feedback = fb.to_text(include_diffs=config.feedback_detail == "full")

    def set_val(self, batch: EvalBatch) -> None:
        self.val = summarize(batch)
        self.val_feedback = build_feedback(batch).to_text(include_diffs=False)

    def train_state(self) -> dict:
        return {"cur_train": self.train, "train_feedback": self.train_feedback, "feedback_short": self.feedback_short}

    def restore_train_state(self, state: dict) -> None:
        self.train, self.train_feedback, self.feedback_short = (
            state["cur_train"], state["train_feedback"], state["feedback_short"])

    def snapshot(self) -> "Incumbent":
        """Its genome and train state, as they are now (what a later round may fall back to)."""
        copy = Incumbent(self.genome)
        copy.restore_train_state(self.train_state())
        return copy

    def state(self) -> dict:
        """Its part of the strategy's checkpoint (the genome is saved by the strategy as ``current``)."""
        return {**self.train_state(), "cur_val": self.val, "val_feedback": self.val_feedback,
                "broken_cases": self.broken_cases}

    def load(self, state: dict) -> None:
        self.restore_train_state(state)
        self.val, self.val_feedback, self.broken_cases = state["cur_val"], state["val_feedback"], state["broken_cases"]


@dataclass
class Verdict:
    valid: list  # candidates that were evaluated (not rejected before)
    best: object | None
    accepted: bool
    before: float
    after: float
    broken_cases: list = field(default_factory=list)

    @property
    def improved(self) -> bool:
        return self.accepted and self.after > self.before + 1e-12


def _pick(candidates: list, split: str, current: dict, strict_below: float, not_best: str):
    """(best candidate on ``split`` or None, the current score, whether the best is accepted); the others
    are rejected with ``not_best``."""
    best = max(candidates, key=lambda c: getattr(c, split)["score"], default=None)
    accepted = best is not None and accepts(current, getattr(best, split)["score"], strict_below)
    for c in candidates:
        if c is not best:
            c.rejected = not_best
    return best, current["score"], accepted


def judge_train(pending: list, cur_train: dict, strict_below: float) -> Verdict:
    valid = [c for c in pending if c.genome and not c.rejected]
    for cand in valid:
        cand.train = summarize(cand.batches["train"])
    best, before, accepted = _pick(valid, "train", cur_train, strict_below, "not the best candidate")
    if best is not None and not accepted:
        best.rejected = ("needs strict improvement below "
                         f"{strict_below:.0%} pass rate" if cur_train["pass_rate"] < strict_below
                         else "scored below the current instruction")
    after = best.train["score"] if best else before
    return Verdict(valid, best, accepted, before, after)


def judge_validation(pending: list, cur_train: dict, cur_val: dict, strict_below: float) -> Verdict:
    valid = [c for c in pending if c.genome and not c.rejected]
    passed_before = set(cur_train["passed"])
    broken_all: list[dict] = []
    survivors = []
    for cand in valid:
        train_b, val_b = cand.batches["train"], cand.batches["val"]
        cand.train, cand.val = summarize(train_b), summarize(val_b)
        broken = [r for r in train_b.records if r.example_id in passed_before and not r.passed]
        if broken:
            cand.rejected = f"breaks {len(broken)} training case(s)"
            broken_all += [{"input": r.input_text, "expected": r.expected, "actual": r.answer} for r in broken]
        else:
            survivors.append(cand)
    best, before, accepted = _pick(survivors, "val", cur_val, strict_below, "not the best on validation")
    if best is not None and not accepted:
        best.rejected = "scored below the current instruction on validation"
    broken_cases = broken_all[:5] if (valid and not survivors) else []
    after = best.val["score"] if best else before
    return Verdict(valid, best, accepted, before, after, broken_cases)
