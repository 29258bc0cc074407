"""Optional parts of the install (``pip install 'evo-bandit[local,ray,...]'``; ``make install``
installs them all) and the one-line error when a feature needs one that is missing.

Each heavy dependency is imported by one module; that module asks ``require(module, feature)`` first,
so a minimal install fails with ``evo: error: <feature> needs the `<extra>` extra: pip install
'evo-bandit[<extra>]'`` (exit 2) instead of a ``ModuleNotFoundError`` traceback.
"""
from __future__ import annotations

from importlib import import_module
from types import ModuleType

from evo.errors import EvoError

EXTRA_OF = {  # importable module -> the extra that installs it
    "llama_cpp": "local",
    "ray": "ray",
    "mlflow": "mlflow",
    "fastapi": "router", "fastapi_offline": "router", "uvicorn": "router", "prometheus_client": "router",
    "orjson": "router",
    "psycopg": "postgres",
    "sklearn": "reward-model",
    "if_verifiable": "ifeval",
}


class MissingExtra(EvoError):
    """A feature was asked for whose optional dependency is not installed."""


def require(module: str, feature: str) -> ModuleType:
    """``module`` imported, or ``MissingExtra`` naming ``feature`` and the extra that provides it."""
    try:
        return import_module(module)
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != module.split(".")[0]:
            raise  # the module is there but broken inside: not a missing extra
        extra = EXTRA_OF.get(module.split(".")[0], "all")
        raise MissingExtra(f"{feature} needs the `{extra}` extra: pip install 'evo-bandit[{extra}]' "
                           "(make install installs every extra)") from None
