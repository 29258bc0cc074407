"""Checks on what router clients send, beyond what pydantic's types say.

Router traffic is untrusted. ``features`` is free-form JSON that is stored (as JSON) and later read by
the reward model; ``check_features`` refuses what would break either: integers outside 64 bits (orjson
and SQL cannot hold them), non-finite numbers (NaN/Infinity are not JSON), nesting deeper than
``MAX_DEPTH``, and keys that are not strings.
"""
from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 8
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1


def check_features(value: Any, path: str = "features", depth: int = 0) -> str | None:
    """None when ``value`` is storable JSON; else a one-line reason naming the path."""
    if depth > MAX_DEPTH:
        return f"{path}: nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int):
        return None if INT_MIN <= value <= INT_MAX else f"{path}: integer outside the 64-bit range"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path}: {value} is not a finite number"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}: keys must be strings"
            reason = check_features(item, f"{path}.{key[:40]}", depth + 1)
            if reason:
                return reason
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            reason = check_features(item, f"{path}[{i}]", depth + 1)
            if reason:
                return reason
        return None
    return f"{path}: unsupported value of type {type(value).__name__}"
