"""Evaluator pools: the one place an evaluator (threads or Ray) is built from its config.

Contract:
- ``Evaluator`` (protocol): ``evaluate(genome, examples, *, samples, on_result) -> EvalBatch`` with
  records in input order and per-example failures as records; ``describe()`` says where evaluation
  runs (logged with every run); ``close()`` releases what it holds.
- ``EvaluatorPool`` (protocol): built once per invocation (one loaded model, one Ray cluster);
  ``evaluator(suite, seed, cache_path)`` hands out evaluators for one run, behind that run's cache; ``close()`` closes every evaluator it
  handed out and then the pool itself. Use it as a context manager.
- ``build_evaluator_pool(cfg, *, task_model, backend_for, cache_path)`` is the only constructor used by
  commands and the Python API: ``EVALUATORS`` maps each ``kind`` to its config class and builder.
  Adding an evaluator = its module + ``EVALUATORS.register(kind, Entry(config, build))`` (``evo.registry``).
"""
from __future__ import annotations

from typing import ClassVar, Literal, Protocol, runtime_checkable

from pydantic import Field

from evo.registry import Entry, Registry
from evo.config_base import StrictConfig
from evo.evaluation.evaluator import Evaluator as ThreadEvaluator
from evo.evaluation.rate_limit import RateLimitConfig
from evo.evaluation.records import EvalBatch
from evo.genome import PromptGenome


@runtime_checkable
class Evaluator(Protocol):
    suite: object
    workers: int

    def evaluate(self, genome: PromptGenome, examples=None, *, samples: int = 1, on_result=None) -> EvalBatch: ...

    def describe(self) -> dict: ...

    def close(self) -> None: ...


class EvaluatorPool(Protocol):
    def evaluator(self, suite, seed: int = 0, cache_path: str | None = None) -> Evaluator: ...

    def close(self) -> None: ...


class EvaluatorConfigBase(StrictConfig):
    """Traits of an evaluator kind, so nothing outside this family tests kinds by name.
    ``limits_in_session``: the session's own task backend carries the ``rate_limit`` (True for
    evaluators calling it in this process; False where workers book through a limiter of their own)."""

    limits_in_session: ClassVar[bool] = True


class ThreadsEvaluatorConfig(EvaluatorConfigBase):
    kind: Literal["threads"] = "threads"
    workers: int = Field(4, ge=1, description="calls in flight (capped by the backend's own limit)")
    rate_limit: RateLimitConfig | None = Field(None, description="provider limits for the task model")


class RayEvaluatorConfig(EvaluatorConfigBase):
    limits_in_session: ClassVar[bool] = False  # every worker books through the cluster's limiter actor
    kind: Literal["ray"]
    address: str = Field("local", description="local | auto | ray://host:port")
    num_workers: int = Field(2, ge=1, description="evaluation actors (mode actors)")
    mode: Literal["auto", "tasks", "actors"] = Field(
        "auto", description="tasks: stateless tasks (API models); actors: one loaded model per actor, pinned to "
                            "nodes; auto: actors for the local model, tasks otherwise")
    threads_per_worker: int = Field(1, ge=1, description="calls in flight per actor or task (and llama.cpp threads)")
    num_cpus: int | None = Field(None, ge=1, description="CPUs for a local cluster (default: all)")
    rate_limit: RateLimitConfig | None = Field(None, description="provider limits for the task model, cluster-wide")


class ThreadEvaluatorPool:
    """Thread-pool evaluators over the task backend; ``backend_for(cache_path)`` gives it behind a cache."""

    def __init__(self, cfg: ThreadsEvaluatorConfig, backend_for, judge_for=None):
        self.cfg = cfg
        self.backend_for = backend_for
        self.judge_for = judge_for
        self._handed_out: list[ThreadEvaluator] = []

    def evaluator(self, suite, seed: int = 0, cache_path: str | None = None) -> ThreadEvaluator:
        if self.judge_for is not None and suite.judge_checks():
            suite = suite.with_judge(self.judge_for(cache_path))
        evaluator = ThreadEvaluator(self.backend_for(cache_path), suite, workers=self.cfg.workers, seed=seed)
        self._handed_out.append(evaluator)
        return evaluator

    def close(self) -> None:
        for evaluator in self._handed_out:
            evaluator.close()
        self._handed_out = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _threads(cfg, task_model, backend_for, cache_path, judge_model=None, judge_for=None):
    return ThreadEvaluatorPool(cfg, backend_for, judge_for)


def _ray(cfg, task_model, backend_for, cache_path, judge_model=None, judge_for=None):
    from evo.extras import require

    require("ray", "the ray evaluator")
    from evo.evaluation.ray_evaluator import RayEvaluatorPool  # the only module importing ray

    return RayEvaluatorPool(cfg, task_model, cache_path=cache_path, judge_model=judge_model)


EVALUATORS = Registry("evaluators", {
    "threads": Entry(ThreadsEvaluatorConfig, _threads),
    "ray": Entry(RayEvaluatorConfig, _ray),
})

EvaluatorConfig = EVALUATORS.config_type


def build_evaluator_pool(cfg, *, task_model, backend_for, cache_path=None, judge_model=None, judge_for=None):
    """The pool for ``cfg``: threads over ``backend_for(cache_path)`` (the session's task backend behind
    a run's cache), or Ray actors that each build ``task_model`` once and put it behind the SQLite cache
    each run names (default ``cache_path``). A suite's ``llm_judge`` checks get ``judge_for(cache_path)``
    (threads) or a ``judge_model`` each worker builds (Ray)."""
    return EVALUATORS[cfg.kind].build(cfg, task_model, backend_for, cache_path, judge_model, judge_for)
