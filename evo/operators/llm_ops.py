"""LLM-backed mutation (several styles) and crossover of instructions, with an LLM-free fallback.

Contract: ``mutate``/``crossover`` return ``(text, how)`` and never raise. ``how`` names what produced
the text: ``llm:<style>`` or ``fallback:<edit>`` when the optimizer's reply was unusable (empty, no
tags/quotes, unchanged, an error, or rejected by the ``ProposalGuard``: a copy of the optimizer's input
or a held-out answer — then ``fallback(copy):<edit>``), in which case a phrase-level edit
(``evo.operators.edits``) is applied instead.
"""
from __future__ import annotations

import numpy as np

from evo.optimizer.meta_prompts import render
from evo.operators.edits import edit_instruction
from evo.operators.guard import ProposalGuard
from evo.optimizer.llm import OptimizerLLM, extract_instruction

STYLES = {
    "rewrite": "Rewrite the instruction so that it is clearer and more effective.",
    "feedback": "Change the instruction to fix the failures described above.",
    "paraphrase": "Paraphrase the instruction, keeping its meaning.",
    "constraint": "Add one precise constraint on the output that would prevent the failures.",
    "simplify": "Simplify and shorten the instruction, keeping only what matters.",
}


class LLMOperators:
    def __init__(self, optimizer: OptimizerLLM, *, task_description: str, bank: tuple[str, ...],
                 compact: bool, lenient: bool, guard: ProposalGuard | None = None, temperature: float = 0.9,
                 max_tokens: int = 300):
        self.optimizer = optimizer
        self.guard = guard
        self.task_description = task_description
        self.bank = bank
        self.compact = compact
        self.lenient = lenient
        self.temperature = temperature
        self.max_tokens = 80 if compact else max_tokens

    def _ask(self, template: str, sample: int, current: str, **values) -> tuple[str | None, str]:
        name = f"{template}_compact_v1" if self.compact else f"{template}_v1"
        system, user = render(name, task_description=self.task_description, **values)
        proposal = self.optimizer.generate(system, user, n=1, temperature=self.temperature,
                                           max_tokens=self.max_tokens, sample_offset=sample)[0]
        if proposal.error:
            return None, "error"
        text, how = extract_instruction(proposal.text, proposal.stop_reason, self.lenient)
        if text and self.guard is not None and self.guard.check(text, shown=f"{system}\n{user}", current=current):
            return None, "copy"
        return text, how

    def mutate(self, text: str, style: str, rng: np.random.Generator, sample: int,
               feedback: str = "", feedback_short: str = "") -> tuple[str, str]:
        new, problem = self._ask("evo_mutate", sample, text, current_prompt=text or "(empty)",
                                 style_instruction=STYLES[style], feedback=feedback or "(not evaluated yet)",
                                 feedback_short=feedback_short)
        if new and new.strip() != text.strip():
            return new, f"llm:{style}"
        edited, kind = edit_instruction(text, rng, self.bank)
        return edited, f"fallback(copy):{kind}" if problem == "copy" else f"fallback:{kind}"

    def crossover(self, a: str, b: str, score_a: float, score_b: float, rng: np.random.Generator,
                  sample: int) -> tuple[str, str]:
        new, problem = self._ask("evo_crossover", sample, f"{a}\n{b}", parent_a=a or "(empty)", parent_b=b or "(empty)",
                                 score_a=f"{score_a:.2f}", score_b=f"{score_b:.2f}")
        if new and new.strip() not in (a.strip(), b.strip()):
            return new, "llm:crossover"
        # fallback: phrase-level one-point crossover
        from evo.operators.edits import split_phrases
        pa, pb = split_phrases(a), split_phrases(b)
        cut_a = int(rng.integers(len(pa) + 1)) if pa else 0
        cut_b = int(rng.integers(len(pb) + 1)) if pb else 0
        child = " ".join(dict.fromkeys(pa[:cut_a] + pb[cut_b:]))
        if not child.strip() or child.strip() in (a.strip(), b.strip()):
            child, _ = edit_instruction(a or b, rng, self.bank, "add")
        return child, "fallback:phrase_crossover"
