"""Segments: independent routing statistics per value of chosen request features, shrunk toward the
rest of the traffic while a segment is sparse.

Contract:
- ``segment_by: [lang, tier]`` (``SegmentConfig.by``) makes a request's segment key
  ``lang=en|tier=gold`` from its ``features`` (a missing feature is empty; values are cut to
  ``max_value_chars``). Past ``max_segments`` distinct keys seen by a router, new keys route as
  ``other``, so traffic cannot create unbounded state.
- A segment's policy sees, per arm, its own statistics plus ``shrinkage`` pseudo-rewards at the mean
  of the other segments' data for that arm (capped by how much data that is): a hierarchical prior,
  so a new segment starts from what the rest of the traffic learned and its own rewards take over as
  they accumulate (after ``shrinkage`` rewards an arm's own data weigh as much as the prior).
- The statistics per (arm, segment) live in the store (``segment_stats``), updated in the reward's
  transaction, so every router sharing the store routes each segment from the same evidence.
"""
from __future__ import annotations

import json

import numpy as np
from pydantic import Field

from evo.config_base import StrictConfig

OTHER = "other"


class SegmentConfig(StrictConfig):
    by: list[str] = Field(default_factory=list, max_length=8, description="request features whose values define "
                          "a segment (e.g. [lang, tier]); empty: one global policy")
    shrinkage: float = Field(5.0, ge=0, description="pseudo-rewards of the other segments' mean each segment's "
                             "arm starts from")
    max_segments: int = Field(1000, ge=1, description="distinct segments a router keeps; later ones route as 'other'")
    max_value_chars: int = Field(40, ge=1, le=100, description="a feature value is cut to this many characters")


def segment_key(features: dict | None, cfg: SegmentConfig) -> str | None:
    """The segment of a request (None when segments are off)."""
    if not cfg.by:
        return None
    parts = []
    for name in cfg.by:
        value = (features or {}).get(name)
        text = "" if value is None else value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        text = "".join(c for c in text if c.isprintable() and c != "|")[: cfg.max_value_chars]
        parts.append(f"{name}={text}")
    return "|".join(parts)[:200]


def shrunk_state(global_state: dict, own: dict[int, tuple[float, float, float]], shrinkage: float) -> dict:
    """A segment's policy state: per arm its own (n, s, ss) (``own``: arm index -> stats) plus up to
    ``shrinkage`` pseudo-rewards at the mean of the rest of the traffic for that arm."""
    n, s, ss = (np.array(global_state[k], dtype=float) for k in ("n", "s", "ss"))
    mine = np.zeros((3, len(n)))
    for i, stats in own.items():
        mine[:, i] = stats
    rest_n, rest_s, rest_ss = np.maximum(n - mine[0], 0), s - mine[1], np.maximum(ss - mine[2], 0)
    weight = np.minimum(shrinkage, rest_n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(rest_n > 0, rest_s / np.maximum(rest_n, 1e-12), 0.0)
        mean_sq = np.where(rest_n > 0, rest_ss / np.maximum(rest_n, 1e-12), 0.0)
    return {"n": (mine[0] + weight).tolist(), "s": (mine[1] + weight * mean).tolist(),
            "ss": (mine[2] + weight * mean_sq).tolist(), "active": list(global_state["active"])}
