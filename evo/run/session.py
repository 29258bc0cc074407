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
from evo.evaluation.backend_stack import layered
from evo.llm.cache import ResponseCache
from evo.llm.config import build_backend
from evo.optimizer.llm import OptimizerLLM
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
    final_samples: int = 1  # samples per test example at the final scoring (pass@k, pass^k, flaky examples)
    final_pool: str = "last"  # RunSettings.final_pool


def seed_genome_of(suite: TaskSuite) -> PromptGenome:
    try:
        genome = PromptGenome(**suite.seed_prompt)
    except ValidationError as exc:
        err = pydantic_error_to_config_error(suite.source, exc)
        raise ConfigError(suite.source, err.detail, "seed_prompt" + (f".{err.field}" if err.field else "")) from None
    check_demo_ids(genome, suite, suite.source, "seed_prompt.demo_ids")
    return with_default_demos(genome, suite)


def with_default_demos(genome: PromptGenome, suite: TaskSuite) -> PromptGenome:
    """``few_shot_k`` without ``demo_ids`` means what ``--few-shot K`` means: demos from the training
    examples in suite order (the first ``few_shot_k`` of each task, the example itself never among
    them). The ids are written into the genome, so what is saved and logged names the demos shown."""
    if genome.few_shot_k and not genome.demo_ids:
        return genome.replace(demo_ids=tuple(ex.id for ex in suite.split("train")))
    return genome


def check_trainable(suite: TaskSuite) -> None:
    """One-line ``ConfigError`` when ``suite`` has no train example (optimizing needs one)."""
    counts = suite.counts()
    if not counts.get("train"):
        held = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("val", "test"))
        raise ConfigError(suite.source or suite.name, f"no train example to optimize on ({held}); mark some "
                          "examples `split: train`, or drop the split fields and let evo assign them")


def check_demo_ids(genome: PromptGenome, suite: TaskSuite, source, field: str = "demo_ids") -> None:
    """Split hygiene: every demo a genome names must be a training example of the suite. A val or test
    example shown as a demo would leak into the scores that choose and judge the prompt; an unknown id
    would be dropped silently. Either is a one-line ``ConfigError``."""
    for demo_id in genome.demo_ids:
        try:
            example = suite.example(demo_id)
        except KeyError:
            raise ConfigError(source, f"demo {demo_id!r} is not an example of suite {suite.name!r}", field) from None
        if example.split != "train":
            raise ConfigError(source, f"demo {demo_id!r} is a {example.split} example; demos must be training "
                              "examples (held-out examples shown as demos would leak into the scores)", field)


class Session:
    """Backends, response caches and evaluator pool for the runs of one invocation.

    ``settings`` is a resolved run or experiment (``task_model``, ``optimizer``, ``evaluator``,
    ``cache`` resolved to a path or ``False``). ``backends`` may supply ``task`` / ``optimizer``
    backends (tests, a shared loaded model). Backends are built once (one loaded local model serves
    both roles when their configs are equal); each run gets them behind the response cache its own
    resolved config names (``backends_for``), so runs of a comparison can keep separate caches.
    """

    def __init__(self, settings, *, backends: dict | None = None):
        backends = backends or {}
        task = backends.get("task") or build_backend(settings.task_model)
        if backends.get("optimizer") is not None:
            optimizer = backends["optimizer"]
        elif settings.optimizer == settings.task_model:
            optimizer = task
        else:
            optimizer = build_backend(settings.optimizer)
        judge_cfg = getattr(settings, "judge", None) or settings.optimizer
        if backends.get("judge") is not None:
            judge = backends["judge"]
        elif judge_cfg == settings.optimizer:
            judge = optimizer
        elif judge_cfg == settings.task_model:
            judge = task
        else:
            judge = build_backend(judge_cfg)
        limit = getattr(settings.evaluator, "rate_limit", None)
        if limit is not None and settings.evaluator.limits_in_session:
            from evo.evaluation.rate_limit import TokenBuckets

            buckets = TokenBuckets(limit)  # the judge books its calls in the task model's buckets too
            limited = layered(task, limiter=buckets, max_pause_retries=limit.max_pause_retries)
            optimizer = limited if optimizer is task else optimizer
            judge = limited if judge is task else layered(judge, limiter=buckets,
                                                          max_pause_retries=limit.max_pause_retries)
            task = limited
        self._raw = (task, optimizer)
        self._raw_judge = judge
        self.judge_model = judge_cfg
        self._caches: dict[str, ResponseCache] = {}
        self._wrapped: dict[str | None, tuple] = {}
        default_cache = settings.cache if isinstance(settings.cache, str) else None
        self.task_backend, self.optimizer_backend = self.backends_for(default_cache)
        self.pool = build_evaluator_pool(settings.evaluator, task_model=settings.task_model,
                                         backend_for=lambda path: self.backends_for(path)[0],
                                         cache_path=default_cache, judge_model=judge_cfg, judge_for=self.judge_for)

    def backends_for(self, cache_path: str | None) -> tuple:
        """(task backend, optimizer backend) behind the response cache at ``cache_path`` (None: none)."""
        if cache_path not in self._wrapped:
            cache = None
            if cache_path is not None:
                cache = self._caches.get(cache_path) or ResponseCache(cache_path)
                self._caches[cache_path] = cache
            task, optimizer = self._raw
            task_backend = layered(task, cache=cache)
            self._wrapped[cache_path] = (task_backend,
                                         task_backend if optimizer is task else layered(optimizer, cache=cache))
        return self._wrapped[cache_path]

    def judge_for(self, cache_path: str | None):
        """The judge model of ``llm_judge`` checks behind the response cache at ``cache_path``."""
        task, optimizer = self._raw
        if self._raw_judge is task:
            return self.backends_for(cache_path)[0]
        if self._raw_judge is optimizer:
            return self.backends_for(cache_path)[1]
        key = ("judge", cache_path)
        if key not in self._wrapped:
            self.backends_for(cache_path)  # opens the cache
            self._wrapped[key] = layered(self._raw_judge, cache=self._caches.get(cache_path))
        return self._wrapped[key]

    def parts(self, resolved, suite: TaskSuite, *, seed_genome: PromptGenome | None = None,
              extra_seeds: tuple[PromptGenome, ...] = ()) -> RunParts:
        """The parts of one run of ``resolved`` on ``suite`` (already limited to its split limits).
        ``ConfigError`` naming the suite when it has no train example to optimize on."""
        check_trainable(suite)
        if seed_genome is not None:
            check_demo_ids(seed_genome, suite, "seed genome")
            seed_genome = with_default_demos(seed_genome, suite)
        seed_genome = seed_genome or seed_genome_of(suite)
        budget = Budget(resolved.budget)
        budget.judge_calls_per_output = suite.judge_calls_per_output()
        opt_seed = int(stream(resolved.seed, "optimizer").integers(2**31 - 1))
        optimizer = OptimizerLLM(self.backends_for(resolved.cache_path)[1], budget, seed=opt_seed)
        context = StrategyContext(suite, seed_genome, optimizer, budget, resolved.seed, tuple(extra_seeds))
        strategy = build_strategy(resolved.strategy, context)
        return RunParts(strategy, self.pool.evaluator(suite, resolved.seed, resolved.cache_path), budget, seed_genome,
                        getattr(resolved, "final_samples", 1), getattr(resolved, "final_pool", "last"))

    def close(self) -> None:
        self.pool.close()
        for cache in self._caches.values():
            cache.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
