"""Composition root: build backends, evaluator, budget, optimizer and strategy from validated configs.

Nothing else in the code base constructs these from configs; commands and experiment runners call here.
"""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from evo.budget import Budget
from evo.errors import pydantic_error_to_config_error
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.llm.cache import CachedBackend, ResponseCache
from evo.llm.config import build_backend
from evo.optimize_config import OptimizeConfig, default_optimizer_cfg
from evo.optimizer_llm import OptimizerLLM
from evo.rng import stream
from evo.strategies.base import Strategy
from evo.tasks.suite import TaskSuite


@dataclass
class RunParts:
    strategy: Strategy
    evaluator: Evaluator
    budget: Budget
    seed_genome: PromptGenome
    task_backend: object
    optimizer_backend: object


def seed_genome_of(suite: TaskSuite) -> PromptGenome:
    try:
        return PromptGenome(**suite.seed_prompt)
    except ValidationError as exc:
        raise pydantic_error_to_config_error(suite.source, exc) from None


def cached(backend, cache: ResponseCache | None):
    return CachedBackend(backend, cache) if cache is not None else backend


LOCAL_OPTIMIZER_DEFAULTS = {
    "iterative": {"extraction": "lenient", "template": "iterative_compact_v1", "optimizer_max_tokens": 80},
    "evolutionary": {"compact_prompts": True, "extraction": "lenient"},
}


def _for_optimizer(cfg, optimizer_kind: str):
    """The small embedded model cannot follow the full tagged meta-prompts: when it is the optimizer,
    unless the config sets them, use compact prompts, short replies and accept a quoted instruction."""
    if optimizer_kind != "local":
        return cfg
    if cfg.kind == "hybrid":
        return cfg.model_copy(update={"evolutionary": _for_optimizer(cfg.evolutionary, optimizer_kind),
                                      "iterative": _for_optimizer(cfg.iterative, optimizer_kind)})
    updates = LOCAL_OPTIMIZER_DEFAULTS[cfg.kind]
    return cfg.model_copy(update={k: v for k, v in updates.items() if k not in cfg.model_fields_set})


def build_strategy(config: OptimizeConfig, suite: TaskSuite, seed_genome: PromptGenome, optimizer: OptimizerLLM,
                   optimizer_kind: str, budget: Budget) -> Strategy:
    cfg = _for_optimizer(config.strategy, optimizer_kind)
    if cfg.kind == "iterative":
        from evo.strategies.iterative import IterativeStrategy

        return IterativeStrategy(cfg, suite, seed_genome, optimizer)
    if cfg.kind == "evolutionary":
        from evo.strategies.evolutionary import EvolutionaryStrategy

        return EvolutionaryStrategy(cfg, suite, seed_genome, optimizer, config.seed)
    if cfg.kind == "hybrid":
        from evo.strategies.hybrid import HybridStrategy

        return HybridStrategy(cfg, suite, seed_genome, optimizer, budget, config.seed)
    raise ValueError(f"unknown strategy kind {cfg.kind!r}")  # pragma: no cover - pydantic rejects it first


def build_backends(task_cfg, optimizer_cfg, cache: ResponseCache | None, task_backend=None,
                   optimizer_backend=None) -> tuple:
    """(task backend, optimizer backend), each behind ``cache``. Given backends are kept; when the
    optimizer config equals the task-model config, one instance (one loaded local model) serves both."""
    task_backend = task_backend or cached(build_backend(task_cfg), cache)
    opt_cfg = optimizer_cfg or default_optimizer_cfg()
    if optimizer_backend is None:
        optimizer_backend = task_backend if opt_cfg == task_cfg else cached(build_backend(opt_cfg), cache)
    return task_backend, optimizer_backend


def build_run(config: OptimizeConfig, suite: TaskSuite, *, cache: ResponseCache | None = None,
              seed_genome: PromptGenome | None = None, task_backend=None, optimizer_backend=None,
              evaluator=None) -> RunParts:
    """All parts of one optimization run. Backends and the evaluator may be passed in (tests, a shared
    local model, a Ray evaluator)."""
    seed_genome = seed_genome or seed_genome_of(suite)
    budget = Budget(config.budget)
    task_backend, optimizer_backend = build_backends(config.task_model, config.optimizer, cache,
                                                     task_backend, optimizer_backend)
    opt_cfg = config.optimizer or default_optimizer_cfg()
    opt_seed = int(stream(config.seed, "optimizer").integers(2**31 - 1))
    optimizer = OptimizerLLM(optimizer_backend, budget, seed=opt_seed)
    evaluator = evaluator or Evaluator(task_backend, suite, workers=config.workers, seed=config.seed)
    strategy = build_strategy(config, suite, seed_genome, optimizer, opt_cfg.kind, budget)
    return RunParts(strategy, evaluator, budget, seed_genome, task_backend, optimizer_backend)
