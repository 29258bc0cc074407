"""Reading files from outside: bounded, strict parsers for text, YAML, JSON and JSONL.

Every file a user (or somebody else) hands us goes through here. The contract, for any input:
the parsed value, or a one-line ``ConfigError`` naming the file and, where known, the line. Never a
hang, never unbounded memory, never a silently changed value. What is bounded (``Limits``):

- size of the file (``max_bytes``);
- YAML aliases: the document's size *with every alias expanded* is counted (``max_nodes``), so an
  alias bomb (a few hundred bytes that expand to gigabytes) is an error, not a 1.7 GB process;
- nesting depth (``max_depth``) in YAML and JSON (a 100,000-deep list is an error, not a RecursionError);
- integers (``max_int_digits``): a 5,000-digit integer is an error, not Python's ``ValueError``;
- duplicate keys in a mapping (YAML or JSON): an error naming the key and line, never "last one wins";
- JSON's non-standard ``NaN``/``Infinity`` literals: an error.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evo.errors import ConfigError


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 64 * 1024 * 1024
    max_nodes: int = 2_000_000
    max_depth: int = 100
    max_int_digits: int = 100


LIMITS = Limits()


class _Reject(ValueError):
    """A limit was hit inside a parser; carries the message and, for YAML, a mark."""

    def __init__(self, message: str, where: str | None = None):
        super().__init__(message)
        self.where = where


def read_text(path: Path | str, limits: Limits = LIMITS) -> str:
    """A UTF-8 text file; unreadable, too large or not UTF-8 is a one-line ``ConfigError``."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        raise ConfigError(path, f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > limits.max_bytes:
        raise ConfigError(path, f"file is larger than {limits.max_bytes // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})") from None


# ---- YAML ---------------------------------------------------------------------------------------------

def _mark(node) -> str | None:
    mark = getattr(node, "start_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses duplicate keys, huge integers, deep nesting and alias bombs."""

    limits: Limits = LIMITS

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # depth while composing: no RecursionError on deep input
        self._depth += 1
        try:
            if self._depth > self.limits.max_depth:
                raise _Reject(f"nesting deeper than {self.limits.max_depth} levels", _mark(self.peek_event()))
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node):
        _check_expanded_size(node, self.limits.max_nodes)
        return super().construct_document(node)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden below it
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise _Reject("a mapping key must be a plain value", _mark(key_node)) from None
                if key in seen:
                    raise _Reject(f"duplicate key {key!r} (first at {seen[key]})", _mark(key_node))
                seen[key] = _mark(key_node)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        text = str(node.value).replace("_", "").lstrip("+-")
        if len(text) > self.limits.max_int_digits:
            raise _Reject(f"integer with more than {self.limits.max_int_digits} digits", _mark(node))
        return super().construct_yaml_int(node)


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)


def _check_expanded_size(root, max_nodes: int) -> None:
    """Count the nodes of ``root`` as if every alias were expanded (sizes memoized per node, so this
    is linear in the composed graph); ``_Reject`` past ``max_nodes``."""
    sizes: dict[int, int] = {}
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if not done:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(c), 1) for c in children)
        if total > max_nodes:
            raise _Reject(f"the document expands to more than {max_nodes:,} values (YAML aliases?)", _mark(node))
        sizes[id(node)] = total


def parse_yaml(text: str, source: str | Path | None, limits: Limits = LIMITS) -> Any:
    """YAML text parsed under ``limits``; every problem is a one-line ``ConfigError``."""
    loader_cls = _BoundedLoader if limits is LIMITS else type("_Loader", (_BoundedLoader,), {"limits": limits})
    loader = None
    try:
        loader = loader_cls(text)  # the reader rejects control characters here
        return loader.get_single_data()
    except _Reject as exc:
        raise ConfigError(source, str(exc), exc.where) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        if isinstance(exc, yaml.reader.ReaderError):
            problem, where = f"character {exc.character!r} is not allowed in YAML", f"position {exc.position}"
        raise ConfigError(source, f"invalid YAML: {problem}", where) from None
    except (ValueError, RecursionError, OverflowError) as exc:  # a scalar the constructor cannot take
        raise ConfigError(source, f"invalid YAML value: {type(exc).__name__}: {exc}"[:300]) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: Path | str, limits: Limits = LIMITS) -> Any:
    """A YAML file parsed under ``limits`` (see the module docstring)."""
    return parse_yaml(read_text(path, limits), path, limits)


# ---- JSON ---------------------------------------------------------------------------------------------

def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _Reject(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str):
    raise _Reject(f"{name} is not valid JSON (use null or a number)")


def _json_depth_ok(text: str, max_depth: int) -> bool:
    """Cheap upper bound on nesting: brackets counted outside strings."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def parse_json(text: str, limits: Limits = LIMITS) -> Any:
    """Strict JSON: no duplicate keys, no NaN/Infinity, bounded depth and integer size.
    Raises ``ValueError`` with a short reason (callers add the file and line)."""
    if not _json_depth_ok(text, limits.max_depth):
        raise ValueError(f"nesting deeper than {limits.max_depth} levels")

    def parse_int(s: str) -> int:
        if len(s.lstrip("-")) > limits.max_int_digits:
            raise _Reject(f"integer with more than {limits.max_int_digits} digits")
        return int(s)

    def parse_float(s: str) -> float:
        value = float(s)
        if value in (float("inf"), float("-inf")):
            raise _Reject(f"number {s[:20]} is out of range")
        return value

    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant, parse_int=parse_int,
                          parse_float=parse_float)
    except _Reject as exc:
        raise ValueError(str(exc)) from None
    except json.JSONDecodeError as exc:
        error = ValueError(f"invalid JSON: {exc.msg} (column {exc.colno})")
        error.lineno = exc.lineno
        raise error from None
    except RecursionError:
        raise ValueError(f"nesting deeper than {limits.max_depth} levels") from None


def read_json(path: Path | str, limits: Limits = LIMITS) -> Any:
    """A JSON file parsed strictly (``parse_json``); problems are one-line ``ConfigError``s."""
    try:
        return parse_json(read_text(path, limits), limits)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigError(path, str(exc), f"line {line}" if line else None) from None


def read_jsonl(path: Path | str, limits: Limits = LIMITS) -> list[tuple[int, Any]]:
    """(line number, parsed object) for every non-blank line, each parsed by ``parse_json``;
    a bad line is a ``ConfigError`` naming it."""
    rows = []
    for number, line in enumerate(read_text(path, limits).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, parse_json(line, limits)))
        except ValueError as exc:
            raise ConfigError(path, str(exc), f"line {number}") from None
    return rows
