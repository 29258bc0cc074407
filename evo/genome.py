"""``PromptGenome``: an immutable prompt (text components + typed settings) with a content-hash id.

Contract:
- Instances are frozen; "changing" a genome means ``genome.replace(...)`` which returns a new one.
- ``id`` is the blake2b hash of the canonical JSON of the *content* (components, placement and
  hyperparameters), not of lineage: two genomes that render the same requests share an id.
- Fitness is never stored on a genome; evaluators return it separately.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

GENOME_SCHEMA_VERSION = 1
MAX_DEMO_ANSWER = 4000  # characters of one bootstrapped demo answer

Placement = Literal["system", "user"]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the one serialization used for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stable_hash(value: Any, size: int = 16) -> str:
    """Hex blake2b digest of ``canonical_json(value)``; stable across processes and runs."""
    return hashlib.blake2b(canonical_json(value).encode("utf-8"), digest_size=size).hexdigest()


class PromptGenome(BaseModel):
    """A prompt and its settings.

    ``system`` is a fixed system text; ``instruction`` is the task instruction, placed in the system
    turn or prepended to the user turn according to ``placement``. ``demo_ids`` name training
    examples shown as few-shot chat turns: for each evaluated example, the first ``few_shot_k``
    demos of the same task (never the example itself) are used; a demo's answer turn is its expected
    output, or its ``demo_answers`` entry (bootstrapped demos: a reply the task model gave to it that
    passed its checks, shown verbatim, as MIPROv2 bootstraps demos). ``model`` picks
    one of the configured task models (``None``: the default one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    instruction: str = ""
    system: str = ""
    placement: Placement = "user"
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(32, ge=1, le=8192)
    chain_of_thought: bool = False
    model: str | None = None
    few_shot_k: int = Field(0, ge=0, le=32)
    demo_ids: tuple[str, ...] = ()
    demo_answers: dict[str, str] = Field(default_factory=dict)
    parents: tuple[str, ...] = ()
    operator: str = "seed"
    _id: str | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_int(cls, data):
        from evo.config_base import reject_bool_for_int
        return reject_bool_for_int(cls, data)

    @field_validator("demo_ids", "parents", mode="before")
    @classmethod
    def _tuple(cls, v):
        if v is None:
            return ()
        if not isinstance(v, (list, tuple)):  # "abc" must not become ('a', 'b', 'c'), nor 5 a TypeError
            raise ValueError(f"must be a list of example ids, not {type(v).__name__} {v!r}")
        return tuple(v)

    @model_validator(mode="after")
    def _answers_of_demos(self):
        stray = sorted(set(self.demo_answers) - set(self.demo_ids))
        if stray:
            raise ValueError(f"demo_answers names examples that are not demos: {stray[:3]}")
        long = [k for k, v in self.demo_answers.items() if len(v) > MAX_DEMO_ANSWER]
        if long:
            raise ValueError(f"demo_answers[{long[0]!r}] is longer than {MAX_DEMO_ANSWER} characters")
        return self

    def shown_demos(self, task_of: Callable[[str], str | None], task: str | None = None,
                    exclude: str | None = None) -> list[str]:
        """The one demo rule: the ids shown are, for each task, the first ``few_shot_k`` of ``demo_ids``
        whose task (``task_of(id)``; ``None``: unknown, skipped) is that task, never ``exclude`` (the
        example being answered). ``task`` given: only that task's demos."""
        per_task: dict[str, int] = {}
        out: list[str] = []
        if self.few_shot_k == 0:
            return out
        for demo_id in self.demo_ids:
            demo_task = task_of(demo_id)
            if demo_task is None or demo_id == exclude or (task is not None and demo_task != task):
                continue
            if per_task.get(demo_task, 0) < self.few_shot_k:
                per_task[demo_task] = per_task.get(demo_task, 0) + 1
                out.append(demo_id)
        return out

    def content(self) -> dict[str, Any]:
        """The fields that determine what is sent to a model (everything but lineage)."""
        return self.model_dump(exclude=self._lineage_and_empty(), mode="json")

    def _lineage_and_empty(self) -> set[str]:
        # no demo_answers: the content (and so the id) of every genome written before the field existed
        return {"parents", "operator"} | (set() if self.demo_answers else {"demo_answers"})

    @property
    def id(self) -> str:
        if self._id is None:
            self._id = stable_hash(self.content(), size=8)
        return self._id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PromptGenome) and self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash((self.id, self.parents, self.operator))

    def replace(self, **changes: Any) -> "PromptGenome":
        """A new genome with ``changes`` applied and validated."""
        data = self.model_dump()
        data.update(changes)
        if "demo_ids" in changes and "demo_answers" not in changes:  # the answers of demos still shown stay
            data["demo_answers"] = {k: v for k, v in data["demo_answers"].items() if k in set(data["demo_ids"] or ())}
        return PromptGenome(**data)

    def to_json(self) -> dict[str, Any]:
        return {"schema_version": GENOME_SCHEMA_VERSION, "id": self.id,
                **self.model_dump(mode="json", exclude=set() if self.demo_answers else {"demo_answers"})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PromptGenome":
        data = dict(data)
        version = data.pop("schema_version", GENOME_SCHEMA_VERSION)
        if version != GENOME_SCHEMA_VERSION:
            raise ValueError(f"unsupported genome schema_version {version}")
        data.pop("id", None)
        return cls(**data)
