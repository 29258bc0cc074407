"""LLM-free phrase-level edits of an instruction (after GrIPS: add / delete / swap / paraphrase).

An instruction is split into phrases (sentences). Edits:
- ``add``: insert a phrase from the phrase bank (generic output directives plus the sentences of the
  suite's own description);
- ``delete``: drop one phrase;
- ``swap``: exchange two phrases;
- ``paraphrase``: replace words by bank synonyms in one phrase.
Used as an operator of its own and as the fallback when an LLM returns unusable text.
"""
from __future__ import annotations

import re

import numpy as np

GENERIC_PHRASES = (
    "Answer with the final answer only.",
    "Reply with only the answer, no explanation.",
    "Do not repeat the question.",
    "Be precise.",
    "Output nothing but the answer.",
    "Keep the answer as short as possible.",
    "Follow the output format exactly.",
    "Check your answer before replying.",
    "Answer with the number only.",
    "Do not add any words before or after the answer.",
)

SYNONYMS = {
    "answer": ("reply", "response"), "reply": ("answer", "respond"), "only": ("just", "solely"),
    "give": ("provide", "write", "output"), "write": ("give", "output"), "output": ("return", "give"),
    "compute": ("calculate", "work out"), "calculate": ("compute", "work out"), "short": ("brief", "concise"),
    "precise": ("exact", "accurate"), "exactly": ("precisely", "strictly"), "final": ("last", "resulting"),
    "number": ("numeral", "value"), "convert": ("transform", "rewrite"), "extract": ("pull out", "find"),
}
EDIT_KINDS = ("add", "delete", "swap", "paraphrase")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+")


def split_phrases(text: str) -> list[str]:
    return [p.strip() for p in _SENTENCE.split(text.strip()) if p.strip()]


def phrase_bank(description: str = "") -> tuple[str, ...]:
    own = tuple(p if p.endswith((".", "!", "?")) else p + "." for p in split_phrases(description.replace(";", ".")))
    return tuple(dict.fromkeys(own + GENERIC_PHRASES))


def edit_instruction(text: str, rng: np.random.Generator, bank: tuple[str, ...], kind: str | None = None) -> tuple[str, str]:
    """(new text, edit kind). Always returns a text different from ``text`` when one exists."""
    phrases = split_phrases(text)
    kinds = [k for k in EDIT_KINDS if k != "delete" or len(phrases) > 1]
    kinds = [k for k in kinds if k != "swap" or len(phrases) > 1]
    kind = kind if kind in kinds else str(rng.choice(kinds))
    if kind == "add":
        candidates = [p for p in bank if p not in phrases] or list(bank)
        phrase = candidates[int(rng.integers(len(candidates)))]
        pos = int(rng.integers(len(phrases) + 1))
        phrases.insert(pos, phrase)
    elif kind == "delete":
        phrases.pop(int(rng.integers(len(phrases))))
    elif kind == "swap":
        i, j = rng.choice(len(phrases), size=2, replace=False)
        phrases[i], phrases[j] = phrases[j], phrases[i]
    else:
        phrases = phrases or [bank[int(rng.integers(len(bank)))]]
        idx = int(rng.integers(len(phrases)))
        words = phrases[idx].split()
        swappable = [i for i, w in enumerate(words) if w.lower().strip(".,;:!?") in SYNONYMS]
        if swappable:
            i = swappable[int(rng.integers(len(swappable)))]
            core = words[i].lower().strip(".,;:!?")
            options = SYNONYMS[core]
            repl = options[int(rng.integers(len(options)))]
            tail = words[i][len(words[i].rstrip(".,;:!?")):]
            repl = repl.capitalize() if words[i][:1].isupper() else repl
            words[i] = repl + tail
            phrases[idx] = " ".join(words)
        else:
            return edit_instruction(" ".join(phrases), rng, bank, "add")
    return " ".join(phrases), kind
