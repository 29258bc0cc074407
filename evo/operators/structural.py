"""The structural prior of the first generation: cheap settings changes with a high expected yield,
tried before calls are spent on text rewrites.

``structural_variants(seed, train_examples, rng, description)`` returns, in this order, the variants
of the seed that differ from it: three few-shot demos as chat turns, the suite's one-line description
put before the instruction (when there is one and the instruction does not contain it yet), an
answer-only constraint, the instruction in the other turn, chain-of-thought, one demo, five demos. Demos are drawn from the training
examples with ``rng`` (seeded by the run), k of each task (an example is shown demos of its own task),
label-balanced on classification-like tasks (``evo.operators.demo_order``), where a variant shows at
least one demo per label (the 1-demo variant becomes a 2-demo one on a yes/no task).
Each is ``(genome, how)`` with ``how`` naming the change.
"""
from __future__ import annotations

import numpy as np

from evo.genome import MAX_DEMO_ANSWER, PromptGenome
from evo.operators.demo_order import answer_label, balance_labels, is_label_set

ANSWER_ONLY = "Answer with only the final answer, nothing else."
VARIANT_KINDS = ("demos3", "description", "answer_only", "placement", "cot", "demos1", "demos5")
UNSCREENED_PRIOR = 3  # each costs a whole-split evaluation when candidates are not screened


def prior_size(setting: int | str, screened: bool) -> int:
    """How many structural variants a strategy tries: ``setting``, or with ``"auto"`` every kind when
    candidates are screened on minibatches (a variant then costs a few calls unless it earns more)
    and the first ``UNSCREENED_PRIOR`` otherwise."""
    if setting == "auto":
        return len(VARIANT_KINDS) if screened else UNSCREENED_PRIOR
    return int(setting)


def with_description(instruction: str, description: str) -> str | None:
    """``description`` (one sentence, period-terminated) before ``instruction``; None when there is no
    description or the instruction already contains it."""
    description = " ".join((description or "").split()).rstrip(" .;")
    if not description or description.lower() in instruction.lower():
        return None
    return f"{description}. {instruction.strip()}".strip()


def structural_variants(seed: PromptGenome, train_examples, rng: np.random.Generator,
                        description: str = "") -> list[tuple[PromptGenome, str]]:
    by_task: dict[str, list[str]] = {}
    for ex in train_examples:
        by_task.setdefault(ex.task, []).append(ex.id)
    task_of = {ex.id: ex.task for ex in train_examples}
    label_of = {ex.id: answer_label(ex.expected) for ex in train_examples}
    shuffled = {task: balance_labels([ids[i] for i in rng.permutation(len(ids))], task_of, label_of)
                for task, ids in by_task.items()}
    # on a classification-like task fewer demos than labels show only some answers (1 demo: the
    # model repeats its label): the demo counts are at least the number of labels
    labels = max((len({label_of[i] for i in ids}) for ids in by_task.values()
                  if is_label_set([label_of[i] for i in ids])), default=0)
    out: list[tuple[PromptGenome, str]] = []

    def demos(k: int):
        k = max(k, labels)
        if shuffled and all(len(ids) > k for ids in shuffled.values()):  # > k: a demo is never its own example
            chosen = [i for ids in shuffled.values() for i in ids[:k]]
            out.append((seed.replace(few_shot_k=k, demo_ids=chosen), f"structure:demos{k}"))
    demos(3)
    described = with_description(seed.instruction, description)
    if described:
        out.append((seed.replace(instruction=described), "structure:description"))
    if ANSWER_ONLY.lower() not in seed.instruction.lower():
        out.append((seed.replace(instruction=f"{seed.instruction.strip()} {ANSWER_ONLY}".strip()), "structure:answer_only"))
    out.append((seed.replace(placement="system" if seed.placement == "user" else "user"), "structure:placement"))
    if not seed.chain_of_thought:
        out.append((seed.replace(chain_of_thought=True, max_tokens=max(seed.max_tokens, 128)), "structure:cot"))
    demos(1)
    demos(5)
    seen = {seed.id}
    return [(g, how) for g, how in out if not (g.id in seen or seen.add(g.id))]


BOOTSTRAP_K = 3


def passed_replies(batch) -> dict[str, str]:
    """Example id -> the reply the task model gave, for every example of ``batch`` (an evaluation on the
    training split) that passed its checks without copying a demo's answer: the material of
    ``bootstrapped_demos``. Replies longer than ``MAX_DEMO_ANSWER`` characters are left out."""
    return {r.example_id: r.output.strip() for r in batch.records
            if r.passed and not r.error and not r.copied_demo and r.output.strip()
            and len(r.output.strip()) <= MAX_DEMO_ANSWER}


def bootstrapped_demos(base: PromptGenome, replies: dict[str, str], train_examples, rng: np.random.Generator,
                       k: int = BOOTSTRAP_K) -> PromptGenome | None:
    """``base`` showing ``k`` demos of each task, answered where it can be with ``base``'s own passing
    replies (``demo_answers``) rather than the expected outputs: MIPROv2's bootstrapped demos, whose
    answers carry the format and the working the model itself produced when it was right. Per task,
    up to ``k`` of the examples ``base`` passed (drawn with ``rng``, label-balanced on
    classification-like tasks) come first, then expected-answer demos of the others, ``k`` + 1 in all
    (an example is never its own demo: the spare takes its place). None when no example passed."""
    by_task: dict[str, tuple[list[str], list[str]]] = {}
    for ex in train_examples:
        by_task.setdefault(ex.task, ([], []))[0 if ex.id in replies else 1].append(ex.id)
    if not any(passed for passed, _ in by_task.values()):
        return None
    task_of = {ex.id: ex.task for ex in train_examples}
    label_of = {ex.id: answer_label(ex.expected) for ex in train_examples}
    chosen, answers = [], {}
    for passed, others in by_task.values():
        own = balance_labels([passed[j] for j in rng.permutation(len(passed))], task_of, label_of)[:k]
        gold = balance_labels([others[j] for j in rng.permutation(len(others))], task_of, label_of)
        chosen += own + gold[:k + 1 - len(own)]
        answers.update({i: replies[i] for i in own})
    return base.replace(few_shot_k=k, demo_ids=tuple(chosen), demo_answers=answers,
                        operator="structure:demos3-own")


# fields that change together: demos are (k, ids); chain of thought comes with room to think
CHANGE_GROUPS = (("system",), ("placement",), ("temperature",), ("chain_of_thought", "max_tokens"), ("model",),
                 ("few_shot_k", "demo_ids", "demo_answers"))


def combine_changes(base: PromptGenome, winners: list[PromptGenome]) -> PromptGenome | None:
    """One genome carrying the changes of ``base`` that several ``winners`` (best first) made — e.g. 3
    demos and the description, each measured better than the base alone: a settings group takes the
    value of the first winner that changed it; an instruction that extends the base's (text before
    and/or after it, as the structural variants do) adds its extra text around the combined
    instruction, and a rewrite is taken only while the instruction is still the base's. None when the
    result equals the base or one of the winners (nothing new to measure)."""
    values: dict = {}
    instruction, rewritten = base.instruction, False
    for w in winners:
        for group in CHANGE_GROUPS:
            if any(getattr(w, f) != getattr(base, f) for f in group) and group[0] not in values:
                values.update({f: getattr(w, f) for f in group})
        if w.instruction == base.instruction:
            continue
        core = base.instruction.strip()
        if core and core in w.instruction and not rewritten:
            before, _, after = w.instruction.partition(core)
            instruction = f"{before}{instruction}{after}"
        elif instruction == base.instruction:
            instruction, rewritten = w.instruction, True
    combined = base.replace(instruction=instruction, **values)
    if combined.id == base.id or any(combined.id == w.id for w in winners):
        return None
    return combined
