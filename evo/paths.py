"""Names are not paths: turning user-given names into path components that stay under their root.

A suite's ``name``, an experiment's name or a strategy label comes from a file somebody wrote; any of
them may become a directory. ``slug`` keeps letters, digits, ``.``, ``_`` and ``-`` and replaces
everything else (``/``, ``..``, NUL, newlines, spaces) with ``_``; ``child_path`` joins slugs onto a
root and checks that the resolved path is still under it.
"""
from __future__ import annotations

import re
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_COMPONENT = 100


def slug(name: str) -> str:
    """``name`` as one safe path component: never empty, never ``.``/``..``, at most 100 characters."""
    text = _UNSAFE.sub("_", str(name)).strip("._") or "unnamed"
    return text[:MAX_COMPONENT]


def is_safe_name(name: str) -> bool:
    """True when ``name`` is already a safe path component (``slug(name) == name``)."""
    return slug(name) == name


def child_path(root: Path | str, *parts: str) -> Path:
    """``root / slug(part) / ...``; ``ValueError`` if the result would resolve outside ``root``
    (a symlink inside root pointing elsewhere, say)."""
    root = Path(root)
    path = root.joinpath(*(slug(p) for p in parts))
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise ValueError(f"{path} resolves outside {root}")
    return path
