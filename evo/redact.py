"""Secrets never stored: one redaction step for every text that may carry a key.

Provider error bodies are untrusted: a server (or a proxy) may echo the API key back in an error
message, and from there it would reach example records, ``result.json``, summaries, logs, MLflow and
reports. So every error evo raises (``EvoError.__init__``), every log record (``install_log_filter``) and
every JSON file of a run (``redact_obj`` in ``evo.run.run_dir.write_json``) passes through ``redact``:

- the value of every registered secret (``register_secret``: each backend registers the key it read
  from its ``api_key_env``; the CLI also registers the values of well-known key variables);
- anything shaped like a known key (``sk-ant-...``, ``sk-...``, ``Bearer ...``, ``x-api-key: ...``).

Both become ``[REDACTED]``. Secrets shorter than 8 characters are not registered (they would match
ordinary words); a key of that length is not a real provider key.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any

MASK = "[REDACTED]"
MIN_SECRET = 8
KEY_VARIABLES = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "EVO_ADMIN_TOKEN")
_SHAPES = re.compile(
    r"sk-ant-[A-Za-z0-9_\-]{8,}"
    r"|\bsk-[A-Za-z0-9_\-]{16,}"
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/\-]{8,}=*"
    r"|(?i:x-api-key)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9._\-]{8,}"
)
_secrets: set[str] = set()
_lock = threading.Lock()
_pattern: re.Pattern | None = None


def register_secret(value: str | None) -> None:
    """Redact ``value`` from now on (no-op for None or values shorter than 8 characters)."""
    global _pattern
    if not value or len(value) < MIN_SECRET:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _pattern = re.compile("|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True)))


def register_env_secrets(env=None, names=KEY_VARIABLES) -> None:
    """Register the values of the well-known key variables present in ``env`` (default ``os.environ``)."""
    env = os.environ if env is None else env
    for name in names:
        register_secret(env.get(name))


def redact(text: str) -> str:
    """``text`` with every registered secret and key-shaped string replaced by ``[REDACTED]``."""
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _SHAPES.sub(MASK, text)


def redact_obj(obj: Any) -> Any:
    """A JSON-like value with every string (keys too) redacted."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact(k) if isinstance(k, str) else k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's rendered message (and drops its args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: leave the record as it is
            return True
        record.msg, record.args = redact(message), ()
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_filter() -> None:
    """Redact every record that reaches the root logger's handlers."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
