"""``Budget``: limits on LLM calls, tokens, USD and wall time, metered per role (task / optimizer).

Counting is *logical*: a cached response counts like a fresh one, so a run's trajectory does not
depend on what the cache happened to hold (a resumed run ends where an uninterrupted one would).
The call limits are hard: every call is checked with ``affords`` before it is made.
Thread-safe. ``exhausted()`` returns the first limit reached as a human-readable reason, or None.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field, NonNegativeFloat, NonNegativeInt

from evo.config_base import StrictConfig

# task: the strategy's evaluations; optimizer: prompt-writing calls; monitor: val scores of the current
# best, measured for the progress curves only (never shown to the strategy); judge: the calls of
# ``llm_judge`` checks while scoring task and monitor outputs. All are real calls: each counts against
# ``max_calls`` (and its tokens and USD against ``max_tokens``/``max_usd``); task and monitor calls
# against ``max_task_calls``.
ROLES = ("task", "optimizer", "monitor", "judge")


class BudgetConfig(StrictConfig):
    max_calls: int | None = Field(None, ge=1, description="LLM calls of the search, task model and optimizer model "
                                                           "together, per run (per strategy x seed in a comparison); "
                                                           "the final scoring of seed and winner on every split is "
                                                           "not charged to it")
    max_task_calls: int | None = Field(None, ge=1, description="task-model calls of the search")
    max_optimizer_calls: int | None = Field(None, ge=1, description="optimizer-model calls")
    max_tokens: int | None = Field(None, ge=1, description="input + output tokens of the search, all models")
    max_usd: float | None = Field(None, gt=0, description="USD of the search at the models' list prices, per run")
    max_wall_s: float | None = Field(None, gt=0, description="wall-clock seconds of the search")
    max_steps: int | None = Field(None, ge=1, description="strategy steps (one ask/evaluate/tell each)")
    patience: int | None = Field(None, ge=1, description="stop after this many steps without improvement")
    max_idle_steps: int = Field(3, ge=1, description="stop after this many steps that used no budget")
    monitor_val: bool | Literal["auto"] = Field(
        "auto", description="score every new best on val for the val curve (monitor calls, capped by max_task_calls "
                            "and max_calls); auto: only when the call cap buys at least `monitor_auto_above` "
                            "evaluations of the val split (a small budget is better spent on the search)")
    monitor_auto_above: int = Field(40, ge=1, description="see monitor_val")

    @property
    def task_call_cap(self) -> int | None:
        """The task-model calls this budget allows at most (``max_task_calls`` or ``max_calls``, the
        smaller); None: no call cap. The one place this value is derived."""
        caps = [c for c in (self.max_task_calls, self.max_calls) if c is not None]
        return min(caps) if caps else None

    def monitors_val(self, n_val: int) -> bool:
        """Whether the run loop scores each new best on a val split of ``n_val`` examples."""
        if self.monitor_val != "auto":
            return bool(self.monitor_val)
        cap = self.task_call_cap
        return cap is None or cap >= self.monitor_auto_above * max(1, n_val)


@dataclass
class Usage:
    calls: int = 0
    cached_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0
    errors: int = 0  # calls that failed (backend errors, malformed responses)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_json(self) -> dict:
        return {"calls": self.calls, "cached_calls": self.cached_calls, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens, "usd": self.usd, "errors": self.errors}


class _UsageState(StrictConfig):
    calls: NonNegativeInt = 0
    cached_calls: NonNegativeInt = 0
    input_tokens: NonNegativeInt = 0
    output_tokens: NonNegativeInt = 0
    usd: NonNegativeFloat = 0.0
    errors: NonNegativeInt = 0


class _BudgetState(StrictConfig):
    """A budget as saved in a checkpoint (``Budget.state_dict``)."""

    config: dict
    usage: dict[Literal["task", "optimizer", "monitor", "judge"], _UsageState]
    steps: NonNegativeInt
    steps_without_improvement: NonNegativeInt
    idle_steps: NonNegativeInt
    wall_s: NonNegativeFloat


@dataclass
class Budget:
    config: BudgetConfig = field(default_factory=BudgetConfig)
    usage: dict = field(default_factory=lambda: {r: Usage() for r in ROLES})
    steps: int = 0
    steps_without_improvement: int = 0
    idle_steps: int = 0
    elapsed_before_s: float = 0.0  # wall time spent before a resume
    judge_calls_per_output: int = 0  # judge calls that scoring one task output makes (the suite's llm_judge checks)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._start = time.monotonic()

    def charge(self, role: str, *, calls: int = 1, cached: int = 0, input_tokens: int = 0,
               output_tokens: int = 0, usd: float = 0.0, errors: int = 0) -> None:
        with self._lock:
            u = self.usage[role]
            u.calls += calls
            u.errors += errors
            u.cached_calls += cached
            u.input_tokens += input_tokens
            u.output_tokens += output_tokens
            u.usd += usd

    def charge_batch(self, batch, role: str = "task") -> None:
        """Charge ``role`` for every record of an ``EvalBatch`` (errors included, and counted), and the
        ``judge`` role for the judge calls its checks made."""
        self.charge(role, calls=batch.n, cached=batch.n_cached, input_tokens=batch.input_tokens,
                    output_tokens=batch.output_tokens, usd=batch.cost_usd, errors=batch.n_errors)
        judge = batch.judge_usage
        if judge["calls"]:
            self.charge("judge", calls=judge["calls"], cached=judge["cached"], input_tokens=judge["input_tokens"],
                        output_tokens=judge["output_tokens"], usd=judge["usd"], errors=judge["errors"])

    @property
    def total_calls(self) -> int:
        return sum(u.calls for u in self.usage.values())

    @property
    def wall_s(self) -> float:
        return self.elapsed_before_s + time.monotonic() - self._start

    def snapshot(self) -> tuple:
        return tuple((u.calls, u.tokens) for u in self.usage.values())

    def end_step(self, improved: bool, used_budget: bool) -> None:
        self.steps += 1
        self.steps_without_improvement = 0 if improved else self.steps_without_improvement + 1
        self.idle_steps = 0 if used_budget else self.idle_steps + 1

    def remaining_task_calls(self) -> int | None:
        c = self.config
        limits = []
        if c.max_task_calls is not None:
            limits.append(c.max_task_calls - self.usage["task"].calls - self.usage["monitor"].calls)
        if c.max_calls is not None:
            limits.append((c.max_calls - self.total_calls) // (1 + self.judge_calls_per_output))
        return max(0, min(limits)) if limits else None

    def affords(self, task_calls: int = 0, optimizer_calls: int = 0, monitor_calls: int = 0) -> bool:
        """Whether that many more calls of each role fit every call limit (task, optimizer, total; each
        task or monitor call brings ``judge_calls_per_output`` judge calls with it). Token, USD and time
        limits are checked between steps."""
        c, u = self.config, self.usage
        task_model = u["task"].calls + u["monitor"].calls + task_calls + monitor_calls
        judge_calls = (task_calls + monitor_calls) * self.judge_calls_per_output
        return ((c.max_task_calls is None or task_model <= c.max_task_calls)
                and (c.max_optimizer_calls is None or u["optimizer"].calls + optimizer_calls <= c.max_optimizer_calls)
                and (c.max_calls is None
                     or self.total_calls + task_calls + optimizer_calls + monitor_calls + judge_calls <= c.max_calls))

    def exhausted(self) -> str | None:
        c, task, opt, judge = self.config, self.usage["task"], self.usage["optimizer"], self.usage["judge"]
        checks = [
            (c.max_calls, self.total_calls, "LLM call budget ({limit}) used"),
            (c.max_task_calls, task.calls + self.usage["monitor"].calls, "task-model call budget ({limit}) used"),
            (c.max_optimizer_calls, opt.calls, "optimizer call budget ({limit}) used"),
            (c.max_tokens, task.tokens + opt.tokens + judge.tokens, "token budget ({limit}) used"),
            (c.max_usd, task.usd + opt.usd + judge.usd, "USD budget ({limit}) used"),
            (c.max_wall_s, self.wall_s, "wall-time budget ({limit} s) used"),
            (c.max_steps, self.steps, "step limit ({limit}) reached"),
            (c.patience, self.steps_without_improvement, "no improvement for {limit} steps"),
            (c.max_idle_steps, self.idle_steps, "{limit} steps in a row used no budget"),
        ]
        for limit, value, message in checks:
            if limit is not None and value >= limit:
                return message.format(limit=limit)
        return None

    def state_dict(self) -> dict:
        """Usage and counters as JSON (also the budget part of every result)."""
        return {"config": self.config.model_dump(), "usage": {r: u.to_json() for r, u in self.usage.items()},
                "steps": self.steps, "steps_without_improvement": self.steps_without_improvement,
                "idle_steps": self.idle_steps, "wall_s": self.wall_s}

    def load_state_dict(self, data: dict) -> None:
        """Restore usage and counters in place (objects holding this budget keep seeing it). The state
        comes from a file on disk: it is validated first (``ValueError`` for a negative or non-numeric
        counter, an unknown role or field), so a hand-edited ``calls: -1000`` cannot buy more calls."""
        state = _BudgetState.model_validate(data)
        self.config = BudgetConfig(**data["config"])
        for role in ROLES:
            self.usage[role] = Usage(**state.usage.get(role, _UsageState()).model_dump())
        self.steps = state.steps
        self.steps_without_improvement = state.steps_without_improvement
        self.idle_steps = state.idle_steps
        self.elapsed_before_s = state.wall_s
        self._start = time.monotonic()

    @classmethod
    def from_json(cls, data: dict) -> "Budget":
        b = cls(BudgetConfig(**data["config"]))
        b.load_state_dict(data)
        return b
