"""Experiments: strategy comparisons and ablations from config files, built on the ``evo`` library.

The public API (imported lazily)::

    import experiments
    report = experiments.compare("configs/quickstart.yaml")   # a ComparisonReport

``compare`` is ``experiments.runner.compare``; ``evo compare`` and ``evo ablate`` are the commands.
"""
from __future__ import annotations


def __getattr__(name: str):
    if name == "compare":
        from experiments.runner import compare

        return compare
    raise AttributeError(f"module 'experiments' has no attribute {name!r}")
