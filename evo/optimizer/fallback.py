"""Feedback-driven edits for the iterative strategy when the optimizer's proposal is unusable.

A weak optimizer (the embedded 135M model) often answers with prose, repeats the instruction, or
proposes something already tried. Every such slot gets an edit chosen from the current genome's own
failure categories instead, so each iteration still tests a real candidate:

| category | edit |
|---|---|
| verbosity | an answer-only constraint added to the instruction |
| format_violation | a format constraint, then demos of failing examples as chat turns |
| wrong_answer | demos of the failing examples (up to 3), then chain-of-thought |
| copied_demo | other demos, or none |
| empty_output | twice the ``max_tokens`` |
| (any) | the other instruction placement, then chain-of-thought |

Contract: ``fallback_edits(genome, failing, train_ids, tried)`` returns the edits in order of the
categories' sizes (largest first), each a ``(genome, description)`` whose id is not in ``tried``.
No randomness: the same state gives the same edits.
"""
from __future__ import annotations

from evo.genome import PromptGenome

ANSWER_ONLY = "Answer with only the final answer, nothing else."
FORMAT_ONLY = "Reply in exactly the format of the expected answer, with no extra words."


def _with_phrase(instruction: str, phrase: str) -> str | None:
    if phrase.lower() in instruction.lower():
        return None
    return f"{instruction.strip()} {phrase}".strip()


def _edits_for(category: str, genome: PromptGenome, failing_ids: list[str], train_ids: list[str]):
    demos = [i for i in failing_ids if i in set(train_ids)][:3]
    if category == "verbosity":
        text = _with_phrase(genome.instruction, ANSWER_ONLY)
        if text:
            yield genome.replace(instruction=text), "answer-only constraint (verbosity)"
    elif category == "format_violation":
        text = _with_phrase(genome.instruction, FORMAT_ONLY)
        if text:
            yield genome.replace(instruction=text), "format constraint (format_violation)"
        if demos:
            yield genome.replace(demo_ids=demos, few_shot_k=len(demos)), "failing examples as demos (format_violation)"
    elif category == "wrong_answer":
        if demos and (genome.few_shot_k < len(demos) or list(genome.demo_ids[:len(demos)]) != demos):
            yield genome.replace(demo_ids=demos, few_shot_k=len(demos)), "demos of the failing pattern (wrong_answer)"
        if not genome.chain_of_thought:
            yield genome.replace(chain_of_thought=True), "chain-of-thought (wrong_answer)"
    elif category == "copied_demo":
        others = [i for i in train_ids if i not in set(genome.demo_ids)][:max(1, genome.few_shot_k)]
        if others:
            yield genome.replace(demo_ids=others, few_shot_k=len(others)), "other demos (copied_demo)"
        if genome.few_shot_k:
            yield genome.replace(few_shot_k=0), "no demos (copied_demo)"
    elif category == "empty_output":
        if genome.max_tokens < 1024:
            yield genome.replace(max_tokens=min(1024, genome.max_tokens * 2)), "twice the max_tokens (empty_output)"


def fallback_edits(genome: PromptGenome, failing: dict[str, list[str]], train_ids: list[str],
                   tried: set[str]) -> list[tuple[PromptGenome, str]]:
    """Candidate edits of ``genome`` for its failure categories (``failing``: category -> failing train
    example ids), largest category first, then generic ones; none whose id is in ``tried``."""
    ordered = sorted(failing.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    out, seen = [], set(tried) | {genome.id}
    candidates = [edit for name, ids in ordered if name != "error" for edit in _edits_for(name, genome, ids, train_ids)]
    other = "user" if genome.placement == "system" else "system"
    candidates.append((genome.replace(placement=other), f"instruction in the {other} turn"))
    if not genome.chain_of_thought:
        candidates.append((genome.replace(chain_of_thought=True), "chain-of-thought"))
    for edited, description in candidates:
        edited = edited.replace(parents=(genome.id,), operator="iterative_fallback")
        if edited.id not in seen:
            seen.add(edited.id)
            out.append((edited, description))
    return out
