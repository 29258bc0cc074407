"""``RunSpec``: the one config schema of an optimization run, shared by ``evo optimize``, ``evo compare``
(each strategy x seed cell), ``evo resume``, ``evo improve`` and the Python API.

``RunSettings`` holds what every run shares (budget, task model, optimizer, evaluator, cache, split
limits), so ``evo optimize`` and ``evo compare`` cannot drift apart in their defaults; ``RunSpec`` adds
the suite, the strategy and the seed. A spec is what the user wrote; ``evo.run.resolve.resolve`` turns it
into a ``ResolvedRun`` in which every default is explicit, and that is what is logged and run.

YAML example (all keys optional; ``suite`` may also come from the command line)::

    suite: arithmetic
    strategy: {kind: iterative, n_candidates: 3}
    budget: {max_calls: 600}
    task_model: {kind: local}
    optimizer: {kind: anthropic, model: claude-opus-4-5}   # default: Opus if ANTHROPIC_API_KEY is set, else local
    judge: {kind: local}                                   # llm_judge checks' model; default: the optimizer's
    evaluator: {kind: threads, workers: 4}                 # or {kind: ray, address: auto}
    cache: true                                            # or a file path, or false
    split_limits: {train: 40}
    seed: 0
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from evo.budget import BudgetConfig
from evo.config_base import StrictConfig, deep_merge, read_mapping, validate_config
from evo.evaluation.pool import EvaluatorConfig, ThreadsEvaluatorConfig
from evo.llm.config import BackendConfig, LocalConfig
from evo.tasks.suite import TaskSuite
from evo.strategies.iterative import IterativeConfig
from evo.strategies.registry import StrategyConfig

DEFAULT_MAX_CALLS = 600


class SplitLimits(StrictConfig):
    """Use at most this many examples of each split (the first ones, in suite order); null: all."""

    train: int | None = Field(None, ge=1)
    val: int | None = Field(None, ge=1)
    test: int | None = Field(None, ge=1)

    def apply(self, suite: TaskSuite) -> TaskSuite:
        return suite.limit(train=self.train, val=self.val, test=self.test)


class RunSettings(StrictConfig):
    budget: BudgetConfig = Field(default_factory=lambda: BudgetConfig(max_calls=DEFAULT_MAX_CALLS),
                                 description=f"what the search may spend; default: {DEFAULT_MAX_CALLS} calls")
    task_model: BackendConfig = Field(default_factory=LocalConfig, description="the model the prompt is for; "
                                      "default: the embedded local model")
    optimizer: BackendConfig | None = Field(
        None, description="the model that writes prompts; default: Claude Opus if ANTHROPIC_API_KEY is set, else local")
    judge: BackendConfig | None = Field(
        None, description="the model of the suite's llm_judge checks; null: the optimizer's model")
    evaluator: EvaluatorConfig = Field(default_factory=ThreadsEvaluatorConfig, description="where evaluations run; "
                                       "default: 4 threads in this process")
    final_samples: int = Field(1, ge=1, le=50, description="at the final scoring, sample each test example this "
                               "many times for seed and winner: pass@k, pass^k (all k pass) and the flaky examples "
                               "(k times the final test calls; set the prompt's temperature > 0 for different answers)")
    final_pool: Literal["last", "halvings"] = Field(
        "last", description="the prompts compared on val at the end: `last`: the strategy's finalists; `halvings`: "
        "also its finalists when the run had spent 1/2, 1/4, ... of its task-call cap (a run given twice the budget "
        "takes the same steps first, so its choice is never worse on val than the smaller run's; more val calls "
        "at the end, not charged to the budget)")
    cache: bool | str = Field(True, description="true: the default response cache file; a path; or false")
    split_limits: SplitLimits = Field(default_factory=SplitLimits, description="use at most this many examples "
                                      "of each split")


class RunSpec(RunSettings):
    suite: str | None = Field(None, description="suite YAML file or built-in suite name")
    strategy: StrategyConfig = Field(default_factory=IterativeConfig, description="how to search; default: iterative")
    seed: int = Field(0, ge=0, lt=2**63, description="every random draw of the run derives from it")


def read_run_config(path: str | Path) -> dict:
    """The raw run config in a YAML/JSON file; a run directory's ``config.json`` gives its resolved config."""
    raw = read_mapping(path, "a run config")
    if isinstance(raw.get("resolved"), dict) and "schema_version" in raw:
        return raw["resolved"]
    return raw


def load_run_spec(path: str | Path | None, overrides: dict | None = None) -> RunSpec:
    """A ``RunSpec`` from a YAML/JSON file (or none; a run directory's ``config.json`` works too) with
    ``overrides`` deep-merged on top."""
    raw = read_run_config(path) if path is not None else {}
    raw = deep_merge(raw, overrides or {})
    source = str(path) if path is not None else "command line"
    return validate_config(RunSpec, raw, source)
