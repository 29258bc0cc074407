"""``backend_stack``: the one way a task backend is assembled from its config outside a ``Session``
(``evo eval``, each Ray worker, the router's ``/complete``) and the layering ``Session`` uses too.

Order, innermost first: the model (``build_backend``), then the rate limiter (a shared
``TokenBuckets`` or the Ray limiter actor's proxy), then the response cache, so cache hits are never
rate limited and never reach the model.
"""
from __future__ import annotations

from evo.evaluation.rate_limit import RateLimitedBackend
from evo.llm.cache import CachedBackend, ResponseCache
from evo.llm.config import build_backend


def layered(backend, *, cache: ResponseCache | None = None, limiter=None, max_pause_retries: int = 3):
    """``backend`` behind ``limiter`` (None: none), then behind ``cache`` (None: none)."""
    if limiter is not None:
        backend = RateLimitedBackend(backend, limiter, max_pause_retries)
    return CachedBackend(backend, cache) if cache is not None else backend


def backend_stack(cfg, *, cache_path: str | None = None, limiter=None, max_pause_retries: int = 3):
    """The backend ``cfg`` (a validated backend config) describes, layered as above; ``cache_path``
    None: no response cache."""
    return layered(build_backend(cfg), cache=ResponseCache(cache_path) if cache_path else None, limiter=limiter,
                   max_pause_retries=max_pause_retries)
