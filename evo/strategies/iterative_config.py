"""``IterativeConfig``: the iterative strategy's options, validated (defaults that depend on the
optimizer model are applied by ``for_optimizer``)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from evo.strategies.racing import RacingFields


class IterativeConfig(RacingFields):
    kind: Literal["iterative"] = "iterative"
    n_candidates: int = Field(3, ge=1, le=10)
    temperature: float = Field(0.7, ge=0, le=2)
    max_train_iterations: int = Field(6, ge=0)
    max_val_iterations: int = Field(3, ge=0)
    plateau: int = Field(3, ge=1, description="iterations without improvement that end a phase")
    strict_below: float = Field(0.10, ge=0, le=1)
    memory: bool = True
    memory_window: int = Field(3, ge=1)
    max_diffs: int = Field(8, ge=0)
    feedback_detail: Literal["full", "categories", "counts"] = "full"
    template: str = "iterative_v1"
    optimizer_max_tokens: int = Field(500, ge=16)
    extraction: Literal["strict", "lenient"] = "strict"
    extend_to_budget: bool = Field(True, description="when the phases end with budget left, start another round "
                                                     "(train then validation) from the best; false: the caps are final")
    fallback: bool = Field(True, description="replace an unusable proposal (prose, unchanged, duplicate, error) with "
                                             "an edit chosen from the current failure categories (evo.optimizer.fallback)")
    structural_prior: Annotated[int, Field(ge=0)] | Literal["auto"] = Field(
        "auto", description="extra candidates of the first iteration (and, with "
                                                  "structural_follow, of the one after each accepted change): cheap "
                                                  "settings variants (3 demos, the suite's description, answer-only, "
                                                  "placement, CoT, 1 and 5 demos); auto: all 7 when candidates are "
                                                  "screened on minibatches, else 3")
    bootstrap_demos: bool = Field(False, description="also try the seed (iterative: each new current genome) with 3 "
                                  "demos answered by its own passing replies instead of the expected outputs "
                                  "(MIPROv2's bootstrapped demos; evo.operators.structural.bootstrapped_demos)")
    final_candidates: int = Field(3, ge=1, description="the last accepted genomes (newest first, the current one "
                                                       "included) compared on val at the end of the run")
    structural_follow: bool = Field(True, description="the iteration after an accepted change also tries the structural "
                                                      "variants of the new instruction (e.g. answer-only once the "
                                                      "system placement won), up to structural_prior of them")

    def for_optimizer(self, optimizer) -> "IterativeConfig":
        """The small embedded model cannot follow the full tagged meta-prompt: with a local optimizer,
        unless the config sets them, use the compact template, short replies and quoted extraction.
        ``optimizer``: the resolved optimizer backend config (its ``in_process`` trait, not its name)."""
        if not optimizer.in_process:
            return self
        updates = {"extraction": "lenient", "template": "iterative_compact_v1", "optimizer_max_tokens": 80}
        return self.model_copy(update={k: v for k, v in updates.items() if k not in self.model_fields_set})
