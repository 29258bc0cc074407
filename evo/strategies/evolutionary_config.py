"""``EvolutionaryConfig`` (the evolutionary strategy's options, validated) and ``measure_objectives``
(quality, latency, tokens and robustness of one genome from its evaluation batches)."""
from __future__ import annotations

import statistics
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from evo.evaluation.records import EvalBatch
from evo.operators.hyper import SearchSpace
from evo.strategies import deap_support as D
from evo.strategies.evolutionary_variation import TEXT_OPERATORS
from evo.strategies.racing import RacingFields


class EvolutionaryConfig(RacingFields):
    kind: Literal["evolutionary"] = "evolutionary"
    population_size: int = Field(12, ge=2)
    keep: int = Field(6, ge=1)
    generations: int = Field(8, ge=1)
    crossover_prob: float = Field(0.3, ge=0, le=1)
    mutation_prob: float = Field(0.9, ge=0, le=1)
    hyper_mutation_prob: float = Field(0.3, ge=0, le=1)
    operator_weights: dict[str, float] = Field(default_factory=lambda: {op: 1.0 for op in TEXT_OPERATORS})
    llm_operators: bool = True
    init_llm_variants: int = Field(3, ge=0)
    structural_prior: Annotated[int, Field(ge=0)] | Literal["auto"] = Field(
        "auto", description="first-generation slots for cheap settings variants of "
                                                  "the seed (3 demos, the suite's description, answer-only, placement, "
                                                  "CoT, 1 and 5 demos); auto: all 7 when candidates are screened on "
                                                  "minibatches, else 3")
    structural_follow: bool = Field(True, description="when a generation ends with a new best genome, its "
                                                      "structural variants (up to structural_prior, not tried "
                                                      "before) are queued: the next generations' first children")
    bootstrap_demos: bool = Field(False, description="also try the seed (iterative: each new current genome) with 3 "
                                  "demos answered by its own passing replies instead of the expected outputs "
                                  "(MIPROv2's bootstrapped demos; evo.operators.structural.bootstrapped_demos)")
    tournament_size: int = Field(3, ge=1)
    parent_selection: Literal["tournament", "example_pareto"] = Field(
        "tournament", description="tournament: on the aggregate fitness; example_pareto: parents drawn from the "
                                  "genomes best on at least one training example, weighted by how many (GEPA's "
                                  "per-example Pareto front); survivors are chosen as before either way")
    mode: Literal["scalar", "pareto"] = "scalar"
    objectives: tuple[str, ...] = D.OBJECTIVES
    # Scalar fitness. Latency is measured wall time and varies from run to run, so by default it does not
    # weigh in (genomes of equal quality are ordered by tokens, a deterministic proxy for latency and
    # cost); it is an objective in `pareto` mode, or give it a weight here.
    weights: dict[str, float] = Field(default_factory=lambda: {
        "quality": 1.0, "latency_ms": 0.0, "tokens": -0.0005, "robustness": 0.0})
    robustness_samples: int = Field(1, ge=1, le=10)
    perturbation: bool = False
    target_score: float | None = Field(1.0, ge=0, le=1, description="stop when quality reaches it; null: never")
    patience: int = Field(4, ge=1)
    min_diversity: int = Field(2, ge=1)
    hall_of_fame: int = Field(5, ge=1)
    final_candidates: int = Field(3, ge=1)
    search_space: SearchSpace = Field(default_factory=SearchSpace)
    compact_prompts: bool = False
    extraction: Literal["strict", "lenient"] = "strict"
    extend_to_budget: bool = Field(True, description="with budget left after `generations` (or a stall), go on: "
                                                     "more generations, fresh variants after a stall; false: stop there")

    @field_validator("operator_weights")
    @classmethod
    def _known_operators(cls, v: dict) -> dict:
        unknown = sorted(set(v) - set(TEXT_OPERATORS))
        if unknown:
            raise ValueError(f"unknown operator(s) {unknown}; expected some of {list(TEXT_OPERATORS)}")
        if v and not any(w > 0 for w in v.values()):
            raise ValueError("at least one operator needs a positive weight")
        if any(w < 0 for w in v.values()):
            raise ValueError("operator weights must not be negative")
        return v

    @field_validator("weights")
    @classmethod
    def _known_weights(cls, v: dict) -> dict:
        unknown = sorted(set(v) - set(D.OBJECTIVES))
        if unknown:
            raise ValueError(f"unknown objective(s) {unknown}; expected some of {list(D.OBJECTIVES)}")
        return v

    @field_validator("objectives")
    @classmethod
    def _known_objectives(cls, v: tuple) -> tuple:
        unknown = sorted(set(v) - set(D.OBJECTIVES))
        if unknown or not v:
            raise ValueError(f"unknown objective(s) {unknown}; expected some of {list(D.OBJECTIVES)}")
        return v

    @model_validator(mode="after")
    def _keep_below_population(self):
        if self.keep >= self.population_size:
            raise ValueError(f"keep ({self.keep}) must be smaller than population_size ({self.population_size})")
        return self

    def for_optimizer(self, optimizer) -> "EvolutionaryConfig":
        """With an in-process (small, local) optimizer model, unless the config sets them: compact
        operator prompts, quoted extraction. ``optimizer``: the resolved optimizer backend config."""
        if not optimizer.in_process:
            return self
        updates = {"compact_prompts": True, "extraction": "lenient"}
        return self.model_copy(update={k: v for k, v in updates.items() if k not in self.model_fields_set})


def measure_objectives(batches: list[EvalBatch]) -> dict:
    """Quality, latency (ms, mean and p95), tokens per example and robustness from the batches of one
    genome: ``batches[0]`` on train (possibly several samples), optionally ``batches[1]`` perturbed."""
    main = batches[0]
    per_example: dict[str, list[float]] = {}
    for r in main.records:
        per_example.setdefault(r.example_id, []).append(r.score)
    spread = [statistics.pstdev(v) for v in per_example.values() if len(v) > 1]
    robustness = 1.0 - 2.0 * (sum(spread) / len(spread)) if spread else 1.0
    if len(batches) > 1:
        robustness = min(robustness, 1.0 - abs(main.mean_score - batches[1].mean_score))
    n = max(1, main.n)
    return {
        "quality": main.mean_score, "pass_rate": main.pass_rate,
        "latency_ms": main.latency_mean_s * 1000.0, "latency_p95_ms": main.latency_p95_s * 1000.0,
        "tokens": (main.input_tokens + main.output_tokens) / n, "usd_per_example": main.cost_usd / n,
        "robustness": robustness, "errors": main.n_errors,
    }
