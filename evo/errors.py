"""Error types that carry a one-line, user-facing message.

Contract: ``str(error)`` is a single line that names the file and, where known, the field or line
number. The CLI prints it and exits with code 2; no traceback reaches the user.
"""
from __future__ import annotations

from pathlib import Path


def printable(text: str) -> str:
    """``text`` with control characters (newlines included) shown as escapes: one line, whatever a file
    name, a YAML key or a provider put into it."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


class EvoError(Exception):
    """Base class for every error the framework raises on purpose. Its text is redacted (``evo.redact``)
    and printable on one line: an error built from a provider's response or a hostile file cannot carry
    an API key onward or forge extra output lines."""

    def __init__(self, *args):
        from evo.redact import redact

        super().__init__(*(printable(redact(a)) if isinstance(a, str) else a for a in args))


class ConfigError(EvoError):
    """Bad user input: a suite, config or data file that cannot be used as written."""

    def __init__(self, source: str | Path | None, message: str, field: str | None = None):
        self.source = printable(source) if source is not None else None
        self.field = printable(field) if field is not None else None
        from evo.redact import redact

        self.detail = printable(redact(" ".join(str(message).split())))
        parts = [p for p in (self.source, self.field) if p]
        super().__init__(": ".join(parts + [self.detail]))


class RunFailure(EvoError):
    """The input was fine but the work could not be done: every task-model call failed, or more failed than
    the caller allows (``evo eval --max-errors``). The CLI exits 4 (config errors exit 2)."""


class StateError(EvoError):
    """Saved state (a checkpoint, a strategy state, a cache) written by another version or corrupt."""


class BackendError(EvoError):
    """An LLM call that failed after the backend's own retries.

    ``retryable`` says whether the same request may succeed later (rate limit, overload, timeout);
    ``retry_after_s`` is the provider's ``retry-after`` when it gave one.
    """

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None,
                 retry_after_s: float | None = None):
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s
        super().__init__(" ".join(str(message).split()))


MAX_ERRORS_SHOWN = 5


def _field_path(loc) -> str:
    field = ""
    for part in loc:
        if isinstance(part, int):
            field += f"[{part}]"
        else:
            field += ("." if field else "") + str(part)
    return field


def known_field_names() -> set[str]:
    """Every field name of the strict (``extra="forbid"``) pydantic models loaded: the vocabulary a
    misspelt key is matched against."""
    from pydantic import BaseModel

    names: set[str] = set()
    todo = list(BaseModel.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if getattr(cls, "model_config", {}).get("extra") == "forbid":
            names.update(getattr(cls, "model_fields", {}))
    return names


def did_you_mean(key: str) -> str:
    """`` (did you mean 'x'?)`` for a key close to a known field name, else ``""``."""
    import difflib

    close = difflib.get_close_matches(key, sorted(known_field_names()), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close and close[0] != key else ""


def _describe(error: dict) -> tuple[str, str]:
    """(field path, message) of one pydantic error, in the words of this project."""
    loc = error.get("loc", ())
    field = _field_path(loc)
    msg = error.get("msg", "invalid value")
    ctx = error.get("ctx") or {}
    kind = error.get("type")
    if kind == "union_tag_invalid":
        key = str(ctx.get("discriminator", "kind")).strip("'")
        field += ("." if field else "") + key
        msg = f"unknown {key} {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
    elif kind == "union_tag_not_found":
        key = str(ctx.get("discriminator", "kind")).strip("'")
        field += ("." if field else "") + key
        msg = "required field is missing"
    elif kind == "extra_forbidden":
        msg = "unknown field" + (did_you_mean(str(loc[-1])) if loc else "")
    elif kind == "missing":
        msg = "required field is missing"
    elif kind in ("value_error", "assertion_error"):
        msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return field, msg


def pydantic_error_to_config_error(source: str | Path | None, exc) -> ConfigError:
    """Turn a ``pydantic.ValidationError`` into a one-line ``ConfigError``: the first error as
    ``source: field: message``, then every other one as ``; field: message`` (up to
    ``MAX_ERRORS_SHOWN`` in all, then how many more). A misspelt key gets a "did you mean" from the
    field names of the loaded configs. Field paths read like ``tasks[0].checks[1].pattern``."""
    described = [_describe(e) for e in exc.errors()]
    field, msg = described[0]
    others = [f"{f}: {m}" if f else m for f, m in described[1:MAX_ERRORS_SHOWN]]
    if others:
        msg += "; " + "; ".join(others)
    if len(described) > MAX_ERRORS_SHOWN:
        msg += f"; and {len(described) - MAX_ERRORS_SHOWN} more"
    return ConfigError(source, msg, field or None)
