"""``recommend``: keep the seed prompt, or use the run's winner? The answer a run gives its user.

The winner (the genome the final choice picked) is recommended only when all of these hold:
1. it is not the seed itself;
2. it does not drop a label of a ``choice`` check that the seed's text names (an instruction that stops
   listing a class teaches the model never to answer it);
3. the suite has validation examples, and on them the winner's mean score is above the seed's;
4. a one-sided exact paired sign test over the validation examples (per-example scores, means over
   samples; examples where both score the same carry no information and are left out) says the winner
   is better with p < ``alpha`` (default 0.05).
Otherwise the seed is recommended, with the first rule that failed as the reason. The winner stays
available (``RunResult.best_genome``); ``RunResult.recommended_genome`` is the one to use.

Caveat (documented, not hidden): the final choice among a strategy's finalists also looked at
validation, so this test is optimistic when there were several finalists; the held-out test split is
never used for a decision.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

from evo.evaluation.records import EvalBatch
from evo.genome import PromptGenome
from evo.strategies.racing import example_scores, sign_test_worse
from evo.tasks.checks import ChoiceCheck, normalize_text
from evo.tasks.suite import TaskSuite

ALPHA = 0.05
TEST = "one-sided exact paired sign test on the validation examples"


@dataclass(frozen=True)
class Recommendation:
    genome_id: str  # the genome to use: the winner's or the seed's id
    use_winner: bool
    reason: str  # one sentence a user reads
    test: str = TEST
    alpha: float = ALPHA
    p_value: float | None = None
    n_val: int = 0
    wins: int = 0  # validation examples where the winner scored higher than the seed
    losses: int = 0
    val_seed: float | None = None
    val_winner: float | None = None
    dropped_labels: list = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def choice_labels(suite: TaskSuite) -> list[str]:
    """The labels of the suite's ``choice`` checks: their ``choices``, else the expected answers of
    their task's examples."""
    labels: list[str] = []
    for task in suite.tasks:
        for check in task.checks:
            if isinstance(check, ChoiceCheck):
                found = check.choices or sorted({str(ex.expected) for ex in suite.examples if ex.task == task.name})
                labels += [label for label in found if label not in labels]
    return labels


def _names(text: str, label: str) -> bool:
    return re.search(r"(?:^|\W)" + re.escape(normalize_text(label)) + r"(?:\W|$)", normalize_text(text)) is not None


def dropped_labels(seed: PromptGenome, winner: PromptGenome, labels: list[str]) -> list[str]:
    """Labels the seed's text (instruction and system) names and the winner's does not."""
    before, after = f"{seed.system}\n{seed.instruction}", f"{winner.system}\n{winner.instruction}"
    return [label for label in labels if _names(before, label) and not _names(after, label)]


def recommend(seed: PromptGenome, winner: PromptGenome, seed_val: EvalBatch, winner_val: EvalBatch,
              suite: TaskSuite, alpha: float = ALPHA) -> Recommendation:
    """The recommendation for ``winner`` over ``seed`` from their validation batches (see the module)."""
    if winner.id == seed.id:
        return Recommendation(seed.id, False, "the search found nothing better than the seed prompt", alpha=alpha)
    dropped = dropped_labels(seed, winner, choice_labels(suite))
    ids = sorted({r.example_id for r in seed_val.records} & {r.example_id for r in winner_val.records})
    base = dict(alpha=alpha, n_val=len(ids), dropped_labels=dropped)
    if dropped:
        return Recommendation(seed.id, False, f"keep the seed prompt: the winner's instruction drops the label(s) "
                                              f"{', '.join(map(repr, dropped))}", **base)
    if not ids:
        return Recommendation(seed.id, False, "keep the seed prompt: no validation examples to test the winner on",
                              **base)
    seed_scores, winner_scores = example_scores(seed_val, ids), example_scores(winner_val, ids)
    diffs = [w - s for w, s in zip(winner_scores, seed_scores)]
    wins, losses = sum(d > 1e-12 for d in diffs), sum(d < -1e-12 for d in diffs)
    p = sign_test_worse([-d for d in diffs])  # P(at least `wins` wins of wins + losses) if neither is better
    val_seed, val_winner = sum(seed_scores) / len(ids), sum(winner_scores) / len(ids)
    stats = dict(base, p_value=p, wins=wins, losses=losses, val_seed=val_seed, val_winner=val_winner)
    score = f"val {val_winner:.3f} vs {val_seed:.3f}, {wins} wins / {losses} losses of {len(ids)}, p={p:.3f}"
    if val_winner <= val_seed + 1e-12:
        return Recommendation(seed.id, False, f"keep the seed prompt: the winner is not better on validation ({score})",
                              **stats)
    if p >= alpha:
        needed = math.ceil(math.log2(1 / alpha))  # the fewest differing examples a perfect record needs
        hint = (f"; only {wins + losses} validation examples differ, and even {needed} straight wins are needed "
                f"for p < {alpha:g}: add validation examples" if wins + losses < needed else f"; needs p < {alpha:g}")
        return Recommendation(seed.id, False, f"keep the seed prompt: the winner is not significantly better on "
                                              f"validation ({score}{hint})", **stats)
    return Recommendation(winner.id, True, f"use the winner: better than the seed prompt on validation ({score})",
                          **stats)
