"""The one base class of every user-facing config, and the helpers every config loader shares.

- ``StrictConfig``: pydantic v2 model with ``extra="forbid"``; every ``*Config`` class derives from it
  (genomes and suite files keep their own frozen models).
- ``Entry``: a registry line (config class + builder); each family's registry is a dict of them.
- ``deep_merge(base, overlay)``: the one merge used for overlays, ablation grids and CLI overrides.
- ``validate_config(cls_or_adapter, raw, source)``: validation whose errors become one-line
  ``ConfigError``s naming the source and the field.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import functools
import types
import typing

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, model_validator

from evo.registry import Entry  # noqa: F401 - re-exported (registries import it from here)
from evo.errors import ConfigError, pydantic_error_to_config_error


class StrictConfig(BaseModel):
    """Base of every config: unknown keys are errors; floats must be finite (``.inf``/``.nan`` are errors)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_int(cls, data):
        return reject_bool_for_int(cls, data)


@functools.lru_cache(maxsize=None)
def _int_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields typed int or float (or optional ones), where a bool is never meant."""
    def is_int(tp) -> bool:
        if tp in (int, float):
            return True
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            return any(a in (int, float) for a in typing.get_args(tp)) and bool not in typing.get_args(tp)
        if typing.get_origin(tp) is typing.Annotated:
            return is_int(typing.get_args(tp)[0])
        return False
    return frozenset(name for name, f in model.model_fields.items() if is_int(f.annotation))


def reject_bool_for_int(model: type[BaseModel], data):
    """``true``/``false`` given for a number field is an error (pydantic would read it as 1/0)."""
    if isinstance(data, dict):
        for name in _int_fields(model):
            if isinstance(data.get(name), bool):
                raise ValueError(f"{name}: expected a number, got {str(data[name]).lower()}")
    return data


def deep_merge(base: dict, overlay: dict) -> dict:
    """``overlay`` onto ``base``: mappings merge key by key; anything else replaces (``null`` too).
    Neither argument is modified."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def validate_config(model: type[BaseModel] | TypeAdapter, raw: Any, source: str | Path | None):
    """Validate ``raw`` as ``model``; a ``ValidationError`` becomes a one-line ``ConfigError``."""
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(raw)
        return model.model_validate(raw)
    except ValidationError as exc:
        raise pydantic_error_to_config_error(source, exc) from None


def read_mapping(path: str | Path, what: str) -> dict:
    """A YAML/JSON file that must hold a mapping (an empty file is ``{}``)."""
    from evo.files import read_yaml

    data = read_yaml(Path(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, f"{what} must be a mapping")
    return data
