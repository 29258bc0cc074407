"""``BaselineStrategy``: the seed prompt, not optimized.

It asks for nothing and is finished from the start, so the run loop goes straight to its final
scoring: the baseline of a comparison is scored by exactly the code path that scores every
strategy's winner.
"""
from __future__ import annotations

from typing import Literal

from evo.config_base import StrictConfig
from evo.genome import PromptGenome
from evo.strategies.base import EvalRequest, Results, Strategy, check_state

STATE_VERSION = 1


class BaselineConfig(StrictConfig):
    kind: Literal["baseline"] = "baseline"

    def for_optimizer(self, optimizer) -> "BaselineConfig":
        return self


class BaselineStrategy(Strategy):
    name = "baseline"

    def __init__(self, config: BaselineConfig, seed_genome: PromptGenome):
        self.config = config
        self.seed_genome = seed_genome
        self.stop_reason = "seed prompt, not optimized"

    def ask(self) -> list[EvalRequest]:
        return []

    def tell(self, results: Results) -> None:
        """Never called with results: the strategy asks for nothing."""

    def best(self) -> PromptGenome:
        return self.seed_genome

    def selection_score(self) -> float:
        return float("-inf")

    def state_dict(self) -> dict:
        return {"schema_version": STATE_VERSION, "strategy": self.name}

    def load_state_dict(self, state: dict) -> None:
        check_state(state, self.name, STATE_VERSION)
