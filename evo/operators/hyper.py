"""Hyperparameter operators: gaussian mutation for numbers, resampling for categories, and per-gene
uniform crossover. Bounds keep genomes valid; every draw comes from the given generator."""
from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from evo.genome import PromptGenome


class SearchSpace(BaseModel):
    """What evolution may change besides the text, and within which bounds."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    temperature: tuple[float, float] = (0.0, 1.0)
    temperature_sigma: float = Field(0.15, ge=0)
    max_tokens: tuple[int, int] = (4, 64)
    max_tokens_log_sigma: float = Field(0.4, ge=0)
    chain_of_thought: bool = True  # may it be switched on?
    placements: tuple[str, ...] = ("user", "system")
    models: tuple[str | None, ...] = (None,)
    max_few_shot: int = Field(4, ge=0)
    genes: tuple[str, ...] = ("temperature", "max_tokens", "chain_of_thought", "placement", "model", "few_shot_k")


def mutate_hyper(genome: PromptGenome, rng: np.random.Generator, space: SearchSpace, train_ids: list[str],
                 n_genes: int = 1, credit=None) -> PromptGenome:
    """Change ``n_genes`` randomly chosen hyperparameters (demos: see ``resample_demos``)."""
    genes = [g for g in space.genes if _mutable(g, space, train_ids)]
    changes = {}
    for gene in rng.choice(genes, size=min(n_genes, len(genes)), replace=False) if genes else []:
        gene = str(gene)
        if gene == "temperature":
            lo, hi = space.temperature
            changes["temperature"] = round(float(np.clip(genome.temperature + rng.normal(0, space.temperature_sigma), lo, hi)), 3)
        elif gene == "max_tokens":
            lo, hi = space.max_tokens
            value = math.exp(math.log(genome.max_tokens) + rng.normal(0, space.max_tokens_log_sigma))
            changes["max_tokens"] = int(np.clip(round(value), lo, hi))
        elif gene == "chain_of_thought":
            changes["chain_of_thought"] = not genome.chain_of_thought
        elif gene == "placement":
            others = [p for p in space.placements if p != genome.placement] or list(space.placements)
            changes["placement"] = others[int(rng.integers(len(others)))]
        elif gene == "model":
            others = [m for m in space.models if m != genome.model] or list(space.models)
            changes["model"] = others[int(rng.integers(len(others)))]
        elif gene == "few_shot_k":
            changes.update(resample_demos(genome, rng, space, train_ids, credit))
    return genome.replace(**changes) if changes else genome


def _mutable(gene: str, space: SearchSpace, train_ids: list[str]) -> bool:
    if gene == "chain_of_thought":
        return space.chain_of_thought
    if gene == "placement":
        return len(space.placements) > 1
    if gene == "model":
        return len(space.models) > 1
    if gene == "few_shot_k":
        return space.max_few_shot > 0 and bool(train_ids)
    return True


def resample_demos(genome: PromptGenome, rng: np.random.Generator, space: SearchSpace, train_ids: list[str],
                   credit=None) -> dict:
    """Add or drop one demo (``few_shot_k`` +- 1) with a fresh choice of demo examples: uniformly at
    random, or favouring demos of measured effect with a ``DemoCredit`` (``evo.operators.demo_credit``)."""
    k = genome.few_shot_k + (1 if genome.few_shot_k == 0 or rng.random() < 0.5 else -1)
    k = int(np.clip(k, 0, space.max_few_shot))
    if k == 0:
        return {"few_shot_k": 0, "demo_ids": ()}
    if credit is not None:
        return {"few_shot_k": k, "demo_ids": tuple(credit.order(list(train_ids), rng))}
    order = rng.permutation(len(train_ids))
    return {"few_shot_k": k, "demo_ids": tuple(train_ids[i] for i in order)}


def crossover_hyper(a: PromptGenome, b: PromptGenome, rng: np.random.Generator) -> dict:
    """Per-gene uniform crossover of the hyperparameters of ``a`` and ``b`` (the text is not touched)."""
    out = {}
    for gene in ("temperature", "max_tokens", "chain_of_thought", "placement", "model"):
        out[gene] = getattr(a if rng.random() < 0.5 else b, gene)
    donor = a if rng.random() < 0.5 else b
    out["few_shot_k"], out["demo_ids"] = donor.few_shot_k, donor.demo_ids
    return out
