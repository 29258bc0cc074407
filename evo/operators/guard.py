"""``ProposalGuard``: rejects optimizer proposals that copy what the optimizer was shown instead of
writing a prompt, and proposals that leak held-out answers.

A weak optimizer often answers a meta-prompt by repeating part of it: the feedback's diagnosis ("the
output has the right shape but the wrong content"), the template's own wording, an example's text.
Such a "prompt" can still score (or win) by accident, so it is rejected with a recorded reason:

- **copied**: of the proposal's word 4-grams that are not already in the current instruction, at least
  ``max_copied`` (default 50%) occur in the text the optimizer was shown, after removing what a
  proposal may legitimately reuse (the current instruction, the task description, the feedback's fix
  suggestions, the phrase bank); a short proposal (under 4 new words) is copied when its whole text
  stands in that shown text;
- **held-out answer**: it contains, as whole words, the expected answer of a validation or test
  example that is distinctive (at least 3 characters, not also a training answer, not in the task
  description or the seed instruction).
"""
from __future__ import annotations

import re
from typing import Iterable

from evo.evaluation.feedback import ROOT_CAUSES
from evo.tasks.checks import normalize_text
from evo.tasks.suite import TaskSuite

N = 4


def words(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", normalize_text(text))


def ngrams(tokens: list[str], n: int = N) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


class ProposalGuard:
    def __init__(self, suite: TaskSuite, *, seed_instruction: str = "", allowed: Iterable[str] = (),
                 max_copied: float = 0.5):
        self.max_copied = max_copied
        fixes = [fix for _, fix in ROOT_CAUSES.values()]
        self.allowed_texts = [suite.description or "", seed_instruction, *fixes, *allowed]
        self._allowed = set().union(*(ngrams(words(t)) for t in self.allowed_texts))
        train_answers = {normalize_text(str(e.expected)) for e in suite.split("train")}
        context = normalize_text(f"{suite.description} {seed_instruction}")
        held_out = {normalize_text(str(e.expected)) for e in suite.split("val", "test")}
        self.protected = sorted(a for a in held_out - train_answers
                                if len(a) >= 3 and not re.search(rf"(?:^|\s){re.escape(a)}(?:\s|$)", context))

    def check(self, proposal: str, *, shown: str, current: str = "") -> str | None:
        """None if ``proposal`` may be evaluated, else the reason to reject it."""
        text = normalize_text(proposal)
        for answer in self.protected:
            if re.search(rf"(?:^|\s){re.escape(answer)}(?:\s|$)", text):
                return f"contains a held-out answer verbatim ({answer!r})"
        tokens = words(proposal)
        new = ngrams(tokens) - ngrams(words(current)) - self._allowed
        source = ngrams(words(shown)) - ngrams(words(current))
        if len(new) >= 2:
            copied = len(new & source) / len(new)
            if copied >= self.max_copied:
                return f"copies the optimizer's input (feedback, meta-prompt or examples): {copied:.0%} of its new 4-grams"
            return None
        shown_text = " ".join(words(shown))
        current_text = " ".join(words(current))
        joined = " ".join(tokens)
        if len(tokens) >= 3 and joined not in current_text and re.search(rf"(?:^|\s){re.escape(joined)}(?:\s|$)", shown_text) \
                and not any(joined in " ".join(words(t)) for t in self.allowed_texts):
            return "copies the optimizer's input (feedback, meta-prompt or examples) verbatim"
        return None
