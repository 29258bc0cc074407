"""Pydantic schemas for check entries in suite files, and the factory that builds ``Check`` objects.

A check entry is a mapping with ``kind`` (discriminator) plus the kind's options and an optional
``name`` and ``weight``. ``kind: python`` takes ``ref: package.module:function`` or
``ref: path/to/file.py:function`` (relative to the suite file).
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evo.registry import Entry, Registry
from evo.config_base import reject_bool_for_int
from evo.tasks import checks as C
from evo.tasks.llm_judge import Criterion
from evo.tasks.sandbox import SandboxedFunction


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str | None = None
    weight: float = Field(1.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data):
        return reject_bool_for_int(cls, data)


CheckConfigBase = _Base  # public: the base of a check config registered from outside (name, weight)


class ExactConfig(_Base):
    kind: Literal["exact"]


class NormalizedConfig(_Base):
    kind: Literal["normalized"]


class ContainsConfig(_Base):
    kind: Literal["contains"]
    value: str | None = None
    case_sensitive: bool = False


class RegexConfig(_Base):
    kind: Literal["regex"]
    pattern: str = Field(max_length=10_000)
    mode: Literal["search", "fullmatch"] = "search"
    timeout_s: float = Field(1.0, gt=0, le=60, description="matching that takes longer fails with category error")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        import regex

        try:
            regex.compile(v)
        except (regex.error, RecursionError, OverflowError) as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
        return v


class NumericConfig(_Base):
    kind: Literal["numeric"]
    tolerance: float = Field(0.0, ge=0)
    rel_tolerance: float = Field(0.0, ge=0)
    strict: bool = False
    pick: Literal["first", "last"] = "last"


class ChoiceConfig(_Base):
    kind: Literal["choice"]
    choices: list[str] | None = Field(None, min_length=1, description="the allowed answers; omit to take them "
                                      "from each example's `choices` input")


class JsonConfig(_Base):
    kind: Literal["json"]
    fields: list[str] | None = None
    subset: bool = False


class JsonSchemaConfig(_Base):
    kind: Literal["json_schema"]
    schema_: dict | None = Field(None, alias="schema", description="the JSON Schema, inline")
    schema_file: str | None = Field(None, description="a JSON or YAML file holding the schema (relative to the suite)")
    fields: list[str] | None = Field(None, min_length=1, description="score the share of these fields (a.b[0].c) "
                                     "equal to the expected object's, once the output is valid")

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    @model_validator(mode="after")
    def _one_schema(self):
        if (self.schema_ is None) == (self.schema_file is None):
            raise ValueError("give exactly one of 'schema' (inline) or 'schema_file'")
        if self.schema_ is not None:
            from evo.tasks.json_schema_check import check_schema

            check_schema(self.schema_)
        return self


def _code_check(cfg) -> C.Check:
    from evo.tasks.code_check import CodeCheck

    return CodeCheck(**cfg.model_dump(exclude={"kind"}))


def _json_schema_check(cfg, base_dir: Path | None) -> C.Check:
    from evo.tasks.json_schema_check import JsonSchemaCheck, check_schema

    schema = cfg.schema_
    if schema is None:
        from evo.config_base import read_mapping
        from evo.errors import ConfigError

        path = Path(cfg.schema_file)
        path = path if path.is_absolute() or base_dir is None else base_dir / path
        schema = read_mapping(path, "a JSON Schema")
        try:
            check_schema(schema)
        except ValueError as exc:
            raise ConfigError(path, str(exc)) from None
    return JsonSchemaCheck(schema, fields=cfg.fields, name=cfg.name, weight=cfg.weight)


class CodeConfig(_Base):
    kind: Literal["code"]
    tests_field: str | None = Field(None, description="the input field holding the tests; default: `expected`")
    timeout_s: float = Field(10.0, gt=0, le=600, description="wall-clock seconds, then the process group is killed")
    cpu_s: float = Field(5.0, gt=0, le=600, description="CPU seconds (RLIMIT_CPU)")
    memory_mb: int = Field(512, ge=64, le=65536, description="address space in MiB (RLIMIT_AS)")
    file_mb: int = Field(10, ge=1, le=10240, description="largest file the code may write, MiB (RLIMIT_FSIZE)")


class LLMJudgeConfig(_Base):
    kind: Literal["llm_judge"]
    mode: Literal["rubric", "reference", "pairwise"] = Field(
        "rubric", description="rubric: score the output on your criteria; reference: agreement with `expected`; "
                              "pairwise: the output against `expected` (or `against_field`), in both orders")
    criteria: list[Criterion] = Field([], description="rubric: what the judge scores, each on `scale`")
    scale: tuple[int, int] = Field((1, 5), description="lowest and highest score the judge gives")
    samples: int = Field(1, ge=1, le=15, description="judgments per output; the score is their median")
    temperature: float = Field(0.0, ge=0, le=2, description="the judge's sampling temperature")
    max_tokens: int = Field(200, ge=16, le=4000, description="of each judge reply")
    against_field: str | None = Field(None, description="pairwise: the input field with the other output")
    input_fields: list[str] | None = Field(None, description="input fields shown to the judge (default: all)")

    @model_validator(mode="after")
    def _valid(self):
        self.options()
        return self

    def options(self):
        from evo.tasks.llm_judge import JudgeOptions

        return JudgeOptions.model_validate(self.model_dump(exclude={"kind", "name", "weight"}))


class IFEvalConfig(_Base):
    kind: Literal["ifeval"]
    instructions: list[dict] = Field(min_length=1, description="[{id: <IFEval instruction id>, kwargs: {...}}]: "
                                     "the constraints the output must follow (see docs/suites.md)")
    benchmark: Literal["ifeval", "ifbench"] = Field("ifeval", description="whose instruction registry the ids are from")
    loose: bool = Field(False, description="also accept IFEval's loose variants of the output")

    @model_validator(mode="after")
    def _known(self):
        from evo.tasks.ifeval_check import Instruction, build_checker

        for item in self.instructions:
            build_checker(Instruction.model_validate(item), self.benchmark)
        return self


def _ifeval_check(cfg, base_dir: Path | None) -> C.Check:
    from evo.tasks.ifeval_check import IFEvalCheck

    return IFEvalCheck(**cfg.model_dump(exclude={"kind"}))


def _judge_check(cfg, base_dir: Path | None) -> C.Check:
    from evo.tasks.llm_judge import LLMJudgeCheck

    return LLMJudgeCheck(cfg.options(), name=cfg.name, weight=cfg.weight)


class PythonConfig(_Base):
    kind: Literal["python"]
    ref: str
    timeout_s: float = Field(5.0, gt=0, le=3600, description="a call that takes longer is killed and fails "
                             "with category error")
    import_timeout_s: float = Field(30.0, gt=0, le=3600, description="importing the module must finish "
                                    "within this many seconds (else a config error)")




def _python_check(cfg, base_dir: Path | None) -> C.Check:
    """The user's callable in killable worker processes (``evo.tasks.sandbox``); imported now, under
    ``import_timeout_s``, so a module that fails or hangs at import is a load-time error."""
    fn = SandboxedFunction(cfg.ref, base_dir, timeout_s=cfg.timeout_s, import_timeout_s=cfg.import_timeout_s)
    fn.warm()
    opts = cfg.model_dump(exclude={"kind", "ref", "import_timeout_s"})
    return C.AssertionCheck(fn, **opts)


def _builtin(check_cls):
    return lambda cfg, base_dir: check_cls(**cfg.model_dump(exclude={"kind"}))


# Adding a check = its class (a checks.Check) and config class (a CheckConfigBase), here or anywhere, then
# ``CHECKS.register(kind, Entry(config, build))`` (or an ``evo.checks`` entry point: ``evo.registry``).
CHECKS = Registry("checks", {
    "exact": Entry(ExactConfig, _builtin(C.ExactCheck)),
    "normalized": Entry(NormalizedConfig, _builtin(C.NormalizedCheck)),
    "contains": Entry(ContainsConfig, _builtin(C.ContainsCheck)),
    "regex": Entry(RegexConfig, _builtin(C.RegexCheck)),
    "numeric": Entry(NumericConfig, _builtin(C.NumericCheck)),
    "choice": Entry(ChoiceConfig, _builtin(C.ChoiceCheck)),
    "json": Entry(JsonConfig, _builtin(C.JsonCheck)),
    "python": Entry(PythonConfig, _python_check),
    "json_schema": Entry(JsonSchemaConfig, _json_schema_check),
    "code": Entry(CodeConfig, lambda cfg, base_dir: _code_check(cfg)),
    "llm_judge": Entry(LLMJudgeConfig, _judge_check),
    "ifeval": Entry(IFEvalConfig, _ifeval_check),
})

CheckConfig = CHECKS.config_type


def build_check(cfg, base_dir: Path | None = None) -> C.Check:
    """A ``Check`` from a validated config entry. Raises ``ValueError`` for an unresolvable ``ref``."""
    return CHECKS[cfg.kind].build(cfg, base_dir)
