"""Pydantic schemas for check entries in suite files, and the factory that builds ``Check`` objects.

A check entry is a mapping with ``kind`` (discriminator) plus the kind's options and an optional
``name`` and ``weight``. ``kind: python`` takes ``ref: package.module:function`` or
``ref: path/to/file.py:function`` (relative to the suite file).
"""
from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Annotated, Callable, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from evo.config_base import Entry
from evo.tasks import checks as C


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = None
    weight: float = Field(1.0, gt=0)


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
    pattern: str
    mode: Literal["search", "fullmatch"] = "search"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
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
    choices: list[str] = []


class JsonConfig(_Base):
    kind: Literal["json"]
    fields: list[str] | None = None
    subset: bool = False


class PythonConfig(_Base):
    kind: Literal["python"]
    ref: str
    timeout_s: float = Field(5.0, gt=0, description="a call that takes longer fails with category error")




def resolve_callable(ref: str, base_dir: Path | None = None) -> Callable:
    """Import ``package.module:function`` or ``path/to/file.py:function``.

    Raises ``ValueError`` with a one-line reason when the reference cannot be resolved.
    """
    if ":" not in ref:
        raise ValueError(f"assertion reference {ref!r} must look like 'module:function' or 'file.py:function'")
    target, _, attr = ref.rpartition(":")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise ValueError(f"assertion file {str(path)!r} does not exist")
        mod_name = "evo_user_assertions_" + re.sub(r"\W", "_", str(path.resolve()))
        module = sys.modules.get(mod_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except (Exception, SystemExit) as exc:  # a module that exits at import must not end evo silently
                raise ValueError(f"importing {str(path)!r} failed: {type(exc).__name__}: {exc}") from None
            sys.modules[mod_name] = module
    else:
        try:
            module = importlib.import_module(target)
        except (Exception, SystemExit) as exc:
            raise ValueError(f"cannot import module {target!r}: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        raise ValueError(f"{target!r} has no callable {attr!r}")
    return fn


def _python_check(cfg, base_dir: Path | None) -> C.Check:
    opts = cfg.model_dump(exclude={"kind", "ref"})
    return C.AssertionCheck(resolve_callable(cfg.ref, base_dir), **opts)


def _builtin(check_cls):
    return lambda cfg, base_dir: check_cls(**cfg.model_dump(exclude={"kind"}))


# Adding a check = its class (evo/tasks/checks.py) and config class (above) + one line here.
CHECKS: dict[str, Entry] = {
    "exact": Entry(ExactConfig, _builtin(C.ExactCheck)),
    "normalized": Entry(NormalizedConfig, _builtin(C.NormalizedCheck)),
    "contains": Entry(ContainsConfig, _builtin(C.ContainsCheck)),
    "regex": Entry(RegexConfig, _builtin(C.RegexCheck)),
    "numeric": Entry(NumericConfig, _builtin(C.NumericCheck)),
    "choice": Entry(ChoiceConfig, _builtin(C.ChoiceCheck)),
    "json": Entry(JsonConfig, _builtin(C.JsonCheck)),
    "python": Entry(PythonConfig, _python_check),
}

CheckConfig = Annotated[Union[tuple(e.config for e in CHECKS.values())], Field(discriminator="kind")]


def build_check(cfg, base_dir: Path | None = None) -> C.Check:
    """A ``Check`` from a validated config entry. Raises ``ValueError`` for an unresolvable ``ref``."""
    return CHECKS[cfg.kind].build(cfg, base_dir)
