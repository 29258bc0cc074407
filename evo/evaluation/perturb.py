"""Light, deterministic input perturbations for robustness estimates.

Each string input field of an example gets one small change drawn from the example's own seed
(its id): a doubled space, a flipped first-letter case, a trailing space or a spaced comma. The
meaning is unchanged; a robust prompt scores the same on the perturbed copy.
"""
from __future__ import annotations

import numpy as np

from evo.genome import stable_hash
from evo.tasks.suite import Example

PERTURBED_SUFFIX = "~p"


def _perturb_text(text: str, rng: np.random.Generator) -> str:
    kind = int(rng.integers(4))
    words = text.split(" ")
    if kind == 0 and len(words) > 1:
        i = int(rng.integers(len(words) - 1))
        words[i] = words[i] + " "
        return " ".join(words)
    if kind == 1 and text[:1].isalpha():
        return (text[0].lower() if text[0].isupper() else text[0].upper()) + text[1:]
    if kind == 2 and "," in text:
        return text.replace(",", " ,", 1)
    return text + " "


def perturb_examples(examples: list[Example]) -> list[Example]:
    out = []
    for ex in examples:
        rng = np.random.default_rng(int(stable_hash(ex.id, size=4), 16))
        inputs = {k: _perturb_text(v, rng) if isinstance(v, str) else v for k, v in ex.inputs.items()}
        out.append(Example(ex.id + PERTURBED_SUFFIX, ex.task, inputs, ex.expected, ex.split, ex.checks))
    return out
