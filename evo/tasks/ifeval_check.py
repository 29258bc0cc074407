"""``ifeval`` check: verifiable instruction-following constraints ("exactly 3 bullet points", "no
commas", "end with a question"), verified by the IFEval / IFBench checkers of the ``if-verifiable``
package (the benchmarks' own code, wrapped, not rewritten). The only module importing it.

Contract:
- ``instructions``: ``[{id: "detectable_format:number_bullet_lists", kwargs: {num_bullets: 3}}, ...]``
  (ids of IFEval's registry, or IFBench's with ``benchmark: ifbench``). Every id and every argument is
  checked when the suite loads: an unknown id, an unknown argument or a missing one (the library would
  draw a random value) is a config error naming it.
- score: the share of instructions followed (strict: the output as it is; ``loose: true``: IFEval's
  loose variants too, e.g. without the first/last line or without ``*``); the message names the first
  instruction not followed, with its description.
- An instruction whose checker needs NLTK data that is not installed (sentence counting) fails with
  category ``error`` and says which data to install; nothing is downloaded at run time.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evo.tasks.checks import Check, UserCheckError


class Instruction(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(description="an IFEval/IFBench instruction id, e.g. punctuation:no_comma")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="the checker's arguments")


def registry(benchmark: str) -> dict:
    from evo.extras import require

    require("if_verifiable", "the ifeval check")
    if benchmark == "ifbench":
        from if_verifiable.ifbench.instructions_registry import INSTRUCTION_DICT
    else:
        from if_verifiable.ifeval.instructions_registry import INSTRUCTION_DICT
    return INSTRUCTION_DICT


def build_checker(instruction: Instruction, benchmark: str):
    """The library's checker for ``instruction``, built (``ValueError`` naming what is wrong)."""
    known = registry(benchmark)
    cls = known.get(instruction.id)
    if cls is None:
        close = [k for k in known if k.split(":")[-1] in instruction.id or instruction.id.split(":")[-1] in k][:3]
        raise ValueError(f"unknown {benchmark} instruction {instruction.id!r}" + (f" (did you mean {close}?)" if close
                                                                                  else ""))
    checker = cls(instruction.id)
    wanted = [k for k in checker.get_instruction_args_keys() if k != "prompt"]
    unknown = sorted(set(instruction.kwargs) - set(wanted))
    missing = [k for k in wanted if instruction.kwargs.get(k) is None]
    if unknown:
        raise ValueError(f"instruction {instruction.id!r} takes {wanted or 'no arguments'}, not {unknown}")
    if missing:
        raise ValueError(f"instruction {instruction.id!r} needs {missing} (else the library draws random values)")
    try:
        checker.build_description(**instruction.kwargs)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"instruction {instruction.id!r}: {exc}") from None
    return checker


class IFEvalCheck(Check):
    kind = "ifeval"

    def __init__(self, instructions: list[Instruction], benchmark: Literal["ifeval", "ifbench"] = "ifeval",
                 loose: bool = False, **kw):
        super().__init__(**kw)
        self.instructions = [Instruction.model_validate(i) for i in instructions]
        self.benchmark = benchmark
        self.loose = loose
        self._checkers = [build_checker(i, benchmark) for i in self.instructions]

    def _follows(self, checker, output: str) -> bool:
        from if_verifiable.common import get_loose_transformations

        variants = [output] + (get_loose_transformations(output) if self.loose else [])
        try:
            return any(v.strip() and checker.check_following(v) for v in variants)
        except LookupError as exc:  # NLTK data missing: say which, never download it
            resource = str(exc).split("Resource ")[-1].split(" not found")[0].strip().strip("'\x1b[93m\x1b[0m")
            raise UserCheckError(f"the {checker.id} checker needs NLTK data {resource} (not installed: "
                                 f"python -m nltk.downloader {resource})") from None

    def _run(self, output, expected, inputs):
        from if_verifiable.common import strip_thinking

        text = strip_thinking(output)
        failed = [(i, c) for i, c in zip(self.instructions, self._checkers) if not self._follows(c, text)]
        if not failed:
            return 1.0, "", None
        inst, checker = failed[0]
        description = " ".join(str(checker.build_description(**inst.kwargs)).split())[:200]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        return ((len(self.instructions) - len(failed)) / len(self.instructions),
                f"not followed: {inst.id}: {description}{more}", "format_violation")
