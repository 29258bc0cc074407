"""USD prices per million tokens, looked up by model-name prefix (longest prefix wins).

Prompt-cache writes cost 1.25x the input price and cache reads 0.1x (Anthropic's published ratios).
Unknown models cost 0 and ``is_priced`` says so, so budgets in USD can warn instead of guessing.
"""
from __future__ import annotations

# (input, output) USD per 1M tokens
PRICES: dict[str, tuple[float, float]] = {
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-6": (5.0, 25.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4-0": (15.0, 75.0),
    "claude-opus-4": (15.0, 75.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-3-5-sonnet": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "claude-3-haiku": (0.25, 1.25),
}
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1


def _lookup(model: str) -> tuple[float, float] | None:
    best = max((p for p in PRICES if model.startswith(p)), key=len, default=None)
    return PRICES[best] if best else None


def is_priced(model: str) -> bool:
    return _lookup(model) is not None


def cost_usd(model: str, input_tokens: int, output_tokens: int,
             cache_write_tokens: int = 0, cache_read_tokens: int = 0) -> float:
    price = _lookup(model)
    if price is None:
        return 0.0
    p_in, p_out = price
    return (input_tokens * p_in + output_tokens * p_out + cache_write_tokens * p_in * CACHE_WRITE_FACTOR
            + cache_read_tokens * p_in * CACHE_READ_FACTOR) / 1e6
