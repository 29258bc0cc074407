"""The strategy registry: ``kind`` -> config class and builder.

Adding a strategy = its own module + ``STRATEGIES.register(kind, Entry(config, build))`` (from any code,
or a package's ``evo.strategies`` entry point: ``evo.registry``); the config type (``StrategyConfig``),
the CLI's ``--strategy`` choices and the factory all derive from it. A builder receives the strategy's
resolved config and a ``StrategyContext`` (suite, seed genome, optimizer, budget, seed, extra seeds).
Every config class has ``for_optimizer(optimizer)``: the defaults that depend on the optimizer model
(its resolved backend config; ask its traits, e.g. ``in_process``, never its kind's name), applied
once by ``evo.run.resolve`` before anything is logged or run.
"""
from __future__ import annotations

from dataclasses import dataclass

from evo.registry import Entry, Registry
from evo.strategies.baseline import BaselineConfig, BaselineStrategy
from evo.strategies.evolutionary import EvolutionaryConfig, EvolutionaryStrategy
from evo.strategies.hybrid import HybridConfig, HybridStrategy
from evo.strategies.iterative import IterativeConfig, IterativeStrategy


@dataclass(frozen=True)
class StrategyContext:
    suite: object
    seed_genome: object
    optimizer: object
    budget: object
    seed: int = 0
    extra_seeds: tuple = ()  # genomes placed in a first population as they are (e.g. production arms)


STRATEGIES = Registry("strategies", {
    "iterative": Entry(IterativeConfig, lambda c, x: IterativeStrategy(
        c, x.suite, x.seed_genome, x.optimizer, x.seed)),
    "evolutionary": Entry(EvolutionaryConfig, lambda c, x: EvolutionaryStrategy(
        c, x.suite, x.seed_genome, x.optimizer, x.seed, extra_seeds=x.extra_seeds)),
    "hybrid": Entry(HybridConfig, lambda c, x: HybridStrategy(
        c, x.suite, x.seed_genome, x.optimizer, x.budget, x.seed)),
    "baseline": Entry(BaselineConfig, lambda c, x: BaselineStrategy(c, x.seed_genome)),
})

StrategyConfig = STRATEGIES.config_type


def build_strategy(config, context: StrategyContext):
    return STRATEGIES[config.kind].build(config, context)
