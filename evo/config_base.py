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

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from evo.errors import ConfigError, pydantic_error_to_config_error


class StrictConfig(BaseModel):
    """Base of every config: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Entry:
    """One line of a registry (strategies, backends, evaluators, trackers): ``kind`` -> its config
    class and the function that builds the object from a validated config."""

    config: type[BaseModel]
    build: Callable


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
    from evo.tasks.loader import read_yaml

    data = read_yaml(Path(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(path, f"{what} must be a mapping")
    return data
