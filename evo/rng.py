"""Named random streams from one run seed (never the global ``random``/``np.random`` state).

``stream(seed, "mutation")`` always gives the same generator for the same (seed, name), independent
of how many other streams exist or in which order they are created.
"""
from __future__ import annotations

import numpy as np

from evo.genome import stable_hash


def stream(seed: int, name: str) -> np.random.Generator:
    key = int(stable_hash(name, size=4), 16)
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(key,)))


def generator_state(rng: np.random.Generator) -> dict:
    """JSON-serializable state of a generator (for checkpoints)."""
    return rng.bit_generator.state


def restore_generator(state: dict) -> np.random.Generator:
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    return rng
