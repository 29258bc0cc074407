"""Open registries: ``kind`` -> ``Entry`` (config class + builder) for strategies, checks, backends,
evaluators, trackers and bandit policies.

A registry is read-only to the library and open to everyone else: ``register(kind, entry)`` from user
code, or a package's entry point in the group ``evo.<family>`` (``name = kind``, value: an ``Entry``)
loaded on first use. Config validation looks the kind up *at validation time* (``config_type``), so a
kind registered after ``evo`` was imported is valid in every config that holds one (run configs,
experiments, suites, ``--llm-config``, the router's policy) without editing ``evo/``. CLI choices are
``list(registry)``.

Validation errors keep the shape a discriminated union gives: an unknown ``kind`` names the expected
ones, and an error inside a config is reported under ``<field>.<kind>.<name>``.
"""
from __future__ import annotations

import threading
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Callable

from pydantic import BaseModel, PlainValidator, SerializeAsAny, ValidationError
from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import ErrorType


@dataclass(frozen=True)
class Entry:
    """One line of a registry: ``kind`` -> its config class (a pydantic model whose ``kind`` field is a
    ``Literal`` of that kind) and the function that builds the object from a validated config."""

    config: type[BaseModel]
    build: Callable


class _KindsSchema:
    """JSON Schema of a registry-typed field: one of the registered kinds' config schemas."""

    def __init__(self, registry: "Registry"):
        self.registry = registry

    def __get_pydantic_json_schema__(self, core_schema, handler):
        return {"oneOf": [handler(self.registry[kind].config.__pydantic_core_schema__) for kind in self.registry]}


class Registry(Mapping):
    """A mapping ``kind -> Entry`` that others may extend (see the module docstring)."""

    def __init__(self, family: str, entries: Mapping[str, Entry] | None = None, *, base: type | None = None):
        self.family, self.base = family, base  # base: every config class must derive from it
        self._entries: dict[str, Entry] = {}
        self._entry_points_loaded = False
        self._lock = threading.Lock()
        for kind, entry in (entries or {}).items():
            self.register(kind, entry)
        self.config_type = Annotated[SerializeAsAny[BaseModel], PlainValidator(self._validate), _KindsSchema(self)]
        """The pydantic type of a config of any registered kind (use it as a field annotation); its JSON
        Schema is ``oneOf`` the kinds registered when the schema is made."""

    # ---- extending --------------------------------------------------------------------------------
    def register(self, kind: str, entry: Entry, *, replace: bool = False) -> Entry:
        """Add ``kind``; ``ValueError`` if it exists (unless ``replace``) or the entry does not fit."""
        if not isinstance(entry, Entry):
            raise ValueError(f"{self.family} {kind!r}: register an Entry(config, build), not {type(entry).__name__}")
        if self.base is not None and not issubclass(entry.config, self.base):
            raise ValueError(f"{self.family} {kind!r}: its config class {entry.config.__name__} must derive from "
                             f"{self.base.__module__}.{self.base.__name__}")
        field = entry.config.model_fields.get("kind")
        declared = typing.get_args(field.annotation) if field is not None else ()
        if declared != (kind,):
            raise ValueError(f"{self.family} {kind!r}: its config class {entry.config.__name__} must have "
                             f"a field `kind: Literal[{kind!r}]`")
        with self._lock:
            if kind in self._entries and not replace and self._entries[kind] != entry:
                raise ValueError(f"{self.family} {kind!r} is already registered")
            self._entries[kind] = entry
        return entry

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=f"evo.{self.family}"):
            if ep.name not in self._entries:
                self.register(ep.name, ep.load())

    # ---- Mapping ------------------------------------------------------------------------------------
    def __getitem__(self, kind: str) -> Entry:
        if kind not in self._entries:
            self._load_entry_points()
        return self._entries[kind]

    def __contains__(self, kind: object) -> bool:
        if kind not in self._entries:
            self._load_entry_points()
        return kind in self._entries

    def __iter__(self) -> Iterator[str]:
        self._load_entry_points()
        return iter(list(self._entries))

    def __len__(self) -> int:
        self._load_entry_points()
        return len(self._entries)

    def build(self, config: BaseModel, *args, **kwargs):
        """The object ``config`` describes (its kind's builder)."""
        return self[config.kind].build(config, *args, **kwargs)

    # ---- validation -------------------------------------------------------------------------------
    def _validate(self, value: Any) -> BaseModel:
        if isinstance(value, BaseModel):
            kind = getattr(value, "kind", None)
            if kind in self and isinstance(value, self[kind].config):
                return value
            value = value.model_dump()
        if not isinstance(value, Mapping):
            raise PydanticCustomError("model_attributes_type", "Input should be a mapping with `kind`")
        kind = value.get("kind")
        if kind is None:
            raise PydanticCustomError("union_tag_not_found", "Unable to extract tag using discriminator {discriminator}",
                                      {"discriminator": "'kind'"})
        if not isinstance(kind, str) or kind not in self:
            expected = ", ".join(repr(k) for k in self)
            raise PydanticCustomError(
                "union_tag_invalid", "Input tag {tag} found using {discriminator} does not match any of the "
                "expected tags: {expected_tags}", {"discriminator": "'kind'", "tag": str(kind), "expected_tags": expected})
        try:
            return self[kind].config.model_validate(dict(value))
        except ValidationError as exc:  # report under <field>.<kind>.<name>, as a discriminated union does
            raise ValidationError.from_exception_data(exc.title, [
                {"type": _error_type(e), "loc": (kind, *e["loc"]), "input": e.get("input"),
                 **({"ctx": e["ctx"]} if e.get("ctx") else {})} for e in exc.errors()]) from None


def _error_type(error: dict):
    """The error's type as ``from_exception_data`` takes it: a built-in type by name, anything else as a
    custom error that keeps its message."""
    if error["type"] in _BUILTIN_ERROR_TYPES:
        return error["type"]
    return PydanticCustomError(error["type"], error["msg"].replace("{", "{{").replace("}", "}}"))


_BUILTIN_ERROR_TYPES = frozenset(typing.get_args(ErrorType))


def load_plugins(modules: str | None) -> list[str]:
    """Import each module of the comma-separated ``modules`` (``$EVO_PLUGINS`` for the CLI) and call its
    ``register()`` if it has one; return the names loaded. ``ConfigError`` naming the module otherwise."""
    import importlib

    from evo.errors import ConfigError

    loaded = []
    for name in [m.strip() for m in (modules or "").split(",") if m.strip()]:
        try:
            module = importlib.import_module(name)
            if callable(getattr(module, "register", None)):
                module.register()
        except Exception as exc:  # noqa: BLE001 - any failure of a plugin is the plugin's, named
            raise ConfigError("EVO_PLUGINS", f"plugin {name!r} failed to load: {type(exc).__name__}: {exc}") from None
        loaded.append(name)
    return loaded
