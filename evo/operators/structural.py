"""The structural prior of the first generation: cheap settings changes with a high expected yield,
tried before calls are spent on text rewrites.

``structural_variants(seed, train_examples, rng)`` returns, in this order, the variants of the seed
that differ from it: three few-shot demos as chat turns, the instruction in the other turn, an
answer-only constraint, chain-of-thought, one demo, five demos. Demos are drawn from the training
examples with ``rng`` (seeded by the run), k of each task (an example is shown demos of its own task).
Each is ``(genome, how)`` with ``how`` naming the change.
"""
from __future__ import annotations

import numpy as np

from evo.genome import PromptGenome

ANSWER_ONLY = "Answer with only the final answer, nothing else."


def structural_variants(seed: PromptGenome, train_examples, rng: np.random.Generator) -> list[tuple[PromptGenome, str]]:
    by_task: dict[str, list[str]] = {}
    for ex in train_examples:
        by_task.setdefault(ex.task, []).append(ex.id)
    shuffled = {task: [ids[i] for i in rng.permutation(len(ids))] for task, ids in by_task.items()}
    out: list[tuple[PromptGenome, str]] = []

    def demos(k: int):
        if shuffled and all(len(ids) > k for ids in shuffled.values()):  # > k: a demo is never its own example
            chosen = [i for ids in shuffled.values() for i in ids[:k]]
            out.append((seed.replace(few_shot_k=k, demo_ids=chosen), f"structure:demos{k}"))
    demos(3)
    out.append((seed.replace(placement="system" if seed.placement == "user" else "user"), "structure:placement"))
    if ANSWER_ONLY.lower() not in seed.instruction.lower():
        out.append((seed.replace(instruction=f"{seed.instruction.strip()} {ANSWER_ONLY}".strip()), "structure:answer_only"))
    if not seed.chain_of_thought:
        out.append((seed.replace(chain_of_thought=True, max_tokens=max(seed.max_tokens, 128)), "structure:cot"))
    demos(1)
    demos(5)
    return [(g, how) for g, how in out if g.id != seed.id]
