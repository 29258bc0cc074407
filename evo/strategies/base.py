"""The strategy interface shared by iterative, evolutionary and hybrid search.

Contract (the run loop in ``evo.run.loop`` is the only caller):
- ``ask()`` returns the evaluations the strategy needs next, as ``EvalRequest``s (genome, split —
  ``train`` or ``val`` only: a strategy never sees the test split —, samples, ``perturbed`` for
  lightly perturbed inputs, ``examples`` for a minibatch of the split, and a free ``tag`` the
  strategy uses to recognize the result). It may return an empty list for a step that produced
  nothing to evaluate. The run loop memoizes per (genome, example): asking again for examples a
  genome was already run on costs nothing, so incumbents join a minibatch comparison for free.
- ``finished`` is True once the strategy has nothing more to do; ``stop_reason`` then says why.
- ``tell(results)`` receives one ``(request, batch)`` pair per request, in request order (``[]`` after
  an empty ``ask``): strategies find their results by request (tag, genome, split), never by
  position. Batches are immutable; nothing is written onto them. Strategies may call the optimizer
  model inside ``ask``; they never call the task model themselves.
- ``best()`` is the genome the strategy would return now; ``final_candidates()`` (default
  ``[best()]``) lists genomes the run loop compares on val to pick the final one.
- ``state_dict()`` is JSON-serializable (with ``schema_version``) and ``load_state_dict`` restores a
  strategy built with the same config so that it continues exactly as the original would have.
- Strategies never mutate the genomes, suites or batches they are given.
- ``extend()`` is asked by the run loop when the strategy stopped on its own caps while the call budget
  has calls left: return True (after clearing ``stop_reason``) to go on searching, False to stop.
  Strategies never extend past a stop the user made final (``extend_to_budget: false``).
- ``step_record()`` describes the last completed step for logs (JSON-serializable); it is logged
  under the strategy's own prefix, never as a metric shared across strategies.
- ``report()`` is everything outside code may read about the search (iterations, generations,
  population, Pareto front), JSON-serializable; nothing outside a strategy reads its attributes.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from evo.errors import StateError
from evo.evaluation.records import EvalBatch
from evo.genome import PromptGenome

ALLOWED_SPLITS = ("train", "val")


@dataclass(frozen=True)
class EvalRequest:
    """One evaluation a strategy asks for: ``genome`` on ``split`` (``samples`` times each example;
    ``perturbed``: on lightly perturbed copies of the inputs). ``tag`` is the strategy's own label."""

    genome: PromptGenome
    split: str
    samples: int = 1
    perturbed: bool = False
    tag: str = ""
    examples: tuple[str, ...] | None = None  # ids of some examples of the split (a minibatch); None: all

    def __post_init__(self):
        if self.split not in ALLOWED_SPLITS:
            raise ValueError(f"strategies may only evaluate on {ALLOWED_SPLITS}, not {self.split!r}")
        if self.examples is not None:
            object.__setattr__(self, "examples", tuple(self.examples))

    @property
    def key(self) -> tuple:
        """What identifies the evaluation (the tag does not)."""
        return (self.genome.id, self.split, self.samples, self.perturbed, self.examples)


Results = list[tuple[EvalRequest, EvalBatch]]


def check_state(state: dict, strategy: str, version: int) -> None:
    """``StateError`` unless ``state`` is a ``strategy`` state of ``version`` (``load_state_dict``'s guard)."""
    if not isinstance(state, dict) or state.get("schema_version") != version or state.get("strategy") != strategy:
        got = (state.get("strategy"), state.get("schema_version")) if isinstance(state, dict) else type(state).__name__
        raise StateError(f"not a {strategy} strategy state of version {version} (got {got})")


class Strategy(ABC):
    name: str = "strategy"
    stop_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.stop_reason is not None

    @abstractmethod
    def ask(self) -> list[EvalRequest]: ...

    @abstractmethod
    def tell(self, results: Results) -> None: ...

    @abstractmethod
    def best(self) -> PromptGenome: ...

    @abstractmethod
    def selection_score(self) -> float:
        """The score ``best()`` was selected on (higher is better), logged as ``selection_score``."""

    def progress(self) -> tuple:
        """What the run loop compares step to step to tell an improvement (patience): by default
        ``(selection_score(),)``; a strategy with phases puts the phase first."""
        return (self.selection_score(),)

    @abstractmethod
    def state_dict(self) -> dict: ...

    @abstractmethod
    def load_state_dict(self, state: dict) -> None: ...

    def final_candidates(self) -> list[PromptGenome]:
        return [self.best()]

    def extend(self) -> bool:
        """Go on after stopping on the strategy's own caps (see the contract); default: no."""
        return False

    def step_record(self) -> dict:
        return {}

    def report(self) -> dict:
        """The strategy's own record of the search (JSON-serializable); ``{}`` when it keeps none."""
        return {}
