"""A random-search strategy in ~50 lines: the worked example of docs/extending.md.

Each step samples ``batch`` variants of the best genome so far (a phrase edit of the instruction plus
a random settings mutation), evaluates them on train, and keeps the best. ``register()`` adds it to
evo's strategy registry from outside ``evo/`` (the CLI loads it with ``EVO_PLUGINS=examples.random_search``);
it passes ``evo.testing.StrategyConformance``.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from evo.config_base import StrictConfig
from evo.operators.edits import edit_instruction, phrase_bank
from evo.operators.hyper import SearchSpace, mutate_hyper
from evo.rng import generator_state, restore_generator, stream
from evo.strategies.base import EvalRequest, Results, Strategy, check_state

STATE_VERSION = 1


class RandomSearchConfig(StrictConfig):
    kind: Literal["random_search"] = "random_search"
    batch: int = Field(4, ge=1, description="variants evaluated per step")
    steps: int = Field(10, ge=1)

    def for_optimizer(self, optimizer) -> "RandomSearchConfig":
        return self  # it uses no optimizer model


class RandomSearchStrategy(Strategy):
    name = "random_search"

    def __init__(self, config: RandomSearchConfig, suite, seed_genome, seed: int = 0):
        self.config, self.seed_genome = config, seed_genome
        self.bank, self.train_ids = phrase_bank(suite.description), [e.id for e in suite.split("train")]
        self.rng = stream(seed, "random_search")
        self.best_genome, self.best_value, self.step = seed_genome, float("-inf"), 0

    def ask(self) -> list[EvalRequest]:
        if self.step == 0:
            return [EvalRequest(self.seed_genome, "train")]
        out = []
        for _ in range(self.config.batch):
            text, how = edit_instruction(self.best_genome.instruction, self.rng, self.bank)
            genome = mutate_hyper(self.best_genome.replace(instruction=text), self.rng, SearchSpace(), self.train_ids)
            out.append(EvalRequest(genome.replace(parents=(self.best_genome.id,), operator=f"random:{how}"), "train"))
        return out

    def tell(self, results: Results) -> None:
        for request, batch in results:
            if batch.mean_score > self.best_value:
                self.best_genome, self.best_value = request.genome, batch.mean_score
        self.step += 1
        if self.step > self.config.steps:
            self.stop_reason = f"{self.config.steps} steps done"

    def best(self):
        return self.best_genome

    def selection_score(self) -> float:
        return self.best_value

    def state_dict(self) -> dict:
        return {"schema_version": STATE_VERSION, "strategy": self.name, "best": self.best_genome.to_json(),
                "best_value": self.best_value, "step": self.step, "rng": generator_state(self.rng),
                "stop_reason": self.stop_reason}

    def load_state_dict(self, state: dict) -> None:
        from evo.genome import PromptGenome

        check_state(state, self.name, STATE_VERSION)
        self.best_genome, self.best_value = PromptGenome.from_json(state["best"]), state["best_value"]
        self.step, self.rng, self.stop_reason = state["step"], restore_generator(state["rng"]), state["stop_reason"]


def register() -> None:
    """Add ``kind: random_search`` to evo's strategy registry (idempotent). Called by
    ``EVO_PLUGINS=examples.random_search`` for the CLI, or from your own code before loading a config."""
    from evo.registry import Entry
    from evo.strategies.registry import STRATEGIES

    if "random_search" not in STRATEGIES:
        STRATEGIES.register("random_search", Entry(
            RandomSearchConfig, lambda c, x: RandomSearchStrategy(c, x.suite, x.seed_genome, x.seed)))
