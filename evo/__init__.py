"""evo: optimize LLM prompts against your evals.

The public API (imported lazily, so ``import evo`` stays cheap)::

    import evo
    result = evo.optimize("arithmetic", {"strategy": {"kind": "evolutionary"}, "budget": {"max_calls": 300}})

- ``evo.optimize``, ``evo.optimize_resolved``, ``evo.resume``, ``evo.resolve_run``: see ``evo.api``;
- comparisons live one floor up: ``experiments.compare(path)`` (``evo.compare`` still works for one
  release, with a ``DeprecationWarning``);
- ``evo.load_suite``, ``evo.PromptGenome``, ``evo.RunSpec``, ``evo.RunResult``.
"""
from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "optimize": "evo.api", "optimize_resolved": "evo.api", "resume": "evo.api", "resolve_run": "evo.api",
    "load_suite": "evo.tasks.loader", "PromptGenome": "evo.genome", "RunSpec": "evo.run.spec",
    "RunResult": "evo.run.loop", "ResolvedRun": "evo.run.resolve", "TaskSuite": "evo.tasks.suite",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name == "compare":  # moved to experiments (the library does not import its applications)
        import warnings

        warnings.warn("evo.compare moved to experiments.compare", DeprecationWarning, stacklevel=2)
        return getattr(import_module("experiments"), "compare")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evo' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    """The public API too (its names are imported on first use), so ``dir(evo)`` and completion show it."""
    return sorted({name for name in globals() if name.startswith("__")} | set(_EXPORTS))
