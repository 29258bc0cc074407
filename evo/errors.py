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


def pydantic_error_to_config_error(source: str | Path | None, exc) -> ConfigError:
    """Turn the first error of a ``pydantic.ValidationError`` into a one-line ``ConfigError``.

    The field path is rendered like ``tasks[0].checks[1].pattern``; the total error count is appended
    when there is more than one.
    """
    errors = exc.errors()
    first = errors[0]
    loc = first.get("loc", ())
    field = ""
    for part in loc:
        if isinstance(part, int):
            field += f"[{part}]"
        else:
            field += ("." if field else "") + str(part)
    msg = first.get("msg", "invalid value")
    ctx = first.get("ctx") or {}
    if first.get("type") == "union_tag_invalid":
        key = str(ctx.get("discriminator", "kind")).strip("'")
        field += ("." if field else "") + key
        msg = f"unknown {key} {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
    elif first.get("type") == "union_tag_not_found":
        key = str(ctx.get("discriminator", "kind")).strip("'")
        field += ("." if field else "") + key
        msg = "required field is missing"
    elif first.get("type") == "extra_forbidden":
        msg = "unknown field"
    elif first.get("type") == "missing":
        msg = "required field is missing"
    elif first.get("type") in ("value_error", "assertion_error"):
        msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
    return ConfigError(source, msg, field or None)
