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
  description or the seed instruction);
- **training fragment**: a short proposal (under 8 words) that stands whole inside a training
  example's input or expected answer, shown to the optimizer or not (a few words of an example are
  no instruction; they can only score through the demos around them);
- **meta-instruction**: it talks to the optimizer instead of the task model ("Write a more precise
  instruction that ...", "Rewrite the prompt ...") or names one of the feedback's internal failure
  categories (``format_violation``, ``wrong_answer``, ...), which only the optimizer was shown.
"""
from __future__ import annotations

import re
from typing import Iterable

from evo.evaluation.feedback import ROOT_CAUSES
from evo.tasks.checks import normalize_text
from evo.tasks.suite import TaskSuite

N = 4
SHORT = 8  # words: a proposal this short is checked whole against the training examples
# an instruction about writing the prompt, addressed to the optimizer (the meta-prompt's own request)
META = re.compile(r"\b(?:write|rewrite|revise|improve|propose|draft)\s+(?:(?:a|an|the|this|your|my)\s+)?"
                  r"(?:(?:new|better|clearer|more|less|precise|concise|improved|revised|shorter|longer|specific|"
                  r"detailed|single|one)\s+){0,3}(?:instruction|prompt|system message)s?\b", re.IGNORECASE)


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
        self._train_texts = [" ".join(words(" ".join(str(v) for v in e.inputs.values()) + " " + str(e.expected)))
                             for e in suite.split("train")]
        self._allowed_joined = [" ".join(words(t)) for t in self.allowed_texts]
        self._categories = sorted(ROOT_CAUSES)

    def check(self, proposal: str, *, shown: str, current: str = "") -> str | None:
        """None if ``proposal`` may be evaluated, else the reason to reject it."""
        text = normalize_text(proposal)
        for answer in self.protected:
            if re.search(rf"(?:^|\s){re.escape(answer)}(?:\s|$)", text):
                return f"contains a held-out answer verbatim ({answer!r})"
        tokens = words(proposal)
        joined = " ".join(tokens)
        if META.search(proposal) and not META.search(current):
            return "a meta-instruction (it asks for a prompt instead of being one)"
        named = [c for c in self._categories if c in proposal.lower() and c not in current.lower()]
        if named:
            return f"names the feedback's internal failure category {named[0]!r}"
        if 2 <= len(tokens) < SHORT and joined not in " ".join(words(current)) \
                and not any(joined in t for t in self._allowed_joined) \
                and any(re.search(rf"(?:^|\s){re.escape(joined)}(?:\s|$)", t) for t in self._train_texts):
            return "a fragment of a training example, not an instruction"
        new = ngrams(tokens) - ngrams(words(current)) - self._allowed
        source = ngrams(words(shown)) - ngrams(words(current))
        if len(new) >= 2:
            copied = len(new & source) / len(new)
            if copied >= self.max_copied:
                return f"copies the optimizer's input (feedback, meta-prompt or examples): {copied:.0%} of its new 4-grams"
            return None
        shown_text = " ".join(words(shown))
        current_text = " ".join(words(current))
        if len(tokens) >= 3 and joined not in current_text and re.search(rf"(?:^|\s){re.escape(joined)}(?:\s|$)", shown_text) \
                and not any(joined in " ".join(words(t)) for t in self.allowed_texts):
            return "copies the optimizer's input (feedback, meta-prompt or examples) verbatim"
        return None
