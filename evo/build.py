"""Composition root: the only place that builds backends, the evaluator pool, the optimizer and the
strategy from resolved configs.

``Session(settings)`` holds what one invocation shares across its runs: the response cache, the task
and optimizer backends (one loaded local model serves both when their configs are equal) and the
evaluator pool (threads or Ray). ``session.parts(resolved, suite)`` builds the ``RunParts`` of one run
with an evaluator from the pool, injected at construction. ``session.close()`` closes every evaluator,
the pool and flushes the cache; use the session as a context manager.
"""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from evo.budget import Budget
from evo.errors import ConfigError, pydantic_error_to_config_error
from evo.evaluation.pool import Evaluator, build_evaluator_pool
from evo.genome import PromptGenome
from evo.llm.cache import CachedBackend, ResponseCache
from evo.llm.config import build_backend
from evo.optimizer_llm import OptimizerLLM
from evo.rng import stream
from evo.strategies.base import Strategy
from evo.strategies.registry import StrategyContext, build_strategy
from evo.tasks.suite import TaskSuite


@dataclass
class RunParts:
    """Everything one optimization run needs, built from one ``ResolvedRun``."""

    strategy: Strategy
    evaluator: Evaluator
    budget: Budget
    seed_genome: PromptGenome


def seed_genome_of(suite: TaskSuite) -> PromptGenome:
    try:
        return PromptGenome(**suite.seed_prompt)
    except ValidationError as exc:
        err = pydantic_error_to_config_error(suite.source, exc)
        raise ConfigError(suite.source, err.detail, "seed_prompt" + (f".{err.field}" if err.field else "")) from None


def cached(backend, cache: ResponseCache | None):
    return CachedBackend(backend, cache) if cache is not None else backend


class Session:
    """Cache, backends and evaluator pool for the runs of one invocation.

    ``settings`` is a resolved run or experiment (``task_model``, ``optimizer``, ``evaluator``,
    ``cache`` resolved to a path or ``False``). ``backends`` may supply ``task`` / ``optimizer``
    backends (tests, a shared loaded model); they are put behind the session's cache like built ones.
    """

    def __init__(self, settings, *, backends: dict | None = None):
        backends = backends or {}
        self.cache = ResponseCache(settings.cache) if isinstance(settings.cache, str) else None
        task = backends.get("task") or build_backend(settings.task_model)
        self.task_backend = cached(task, self.cache)
        if backends.get("optimizer") is not None:
            self.optimizer_backend = cached(backends["optimizer"], self.cache)
        elif settings.optimizer == settings.task_model:
            self.optimizer_backend = self.task_backend
        else:
            self.optimizer_backend = cached(build_backend(settings.optimizer), self.cache)
        self.pool = build_evaluator_pool(settings.evaluator, task_model=settings.task_model,
                                         task_backend=self.task_backend,
                                         cache_path=settings.cache if isinstance(settings.cache, str) else None)

    def parts(self, resolved, suite: TaskSuite, *, seed_genome: PromptGenome | None = None,
              extra_seeds: tuple[PromptGenome, ...] = ()) -> RunParts:
        """The parts of one run of ``resolved`` on ``suite`` (already limited to its split limits)."""
        seed_genome = seed_genome or seed_genome_of(suite)
        budget = Budget(resolved.budget)
        opt_seed = int(stream(resolved.seed, "optimizer").integers(2**31 - 1))
        optimizer = OptimizerLLM(self.optimizer_backend, budget, seed=opt_seed)
        context = StrategyContext(suite, seed_genome, optimizer, budget, resolved.seed, tuple(extra_seeds))
        strategy = build_strategy(resolved.strategy, context)
        return RunParts(strategy, self.pool.evaluator(suite, resolved.seed), budget, seed_genome)

    def close(self) -> None:
        self.pool.close()
        if self.cache is not None:
            self.cache.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
