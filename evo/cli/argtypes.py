"""argparse types that reject impossible values with a one-line usage error (exit 2)."""
from __future__ import annotations

import argparse


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def port(text: str) -> int:
    value = _int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 1-65535, not {value}")
    return value


def unit_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value:g}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0 (``nan``/``inf`` are usage errors)."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, not {text}")
    return value


def thread_count(text: str) -> str:
    """``--threads``: a positive whole number, or ``auto``."""
    if text != "auto":
        positive_int(text)
    return text


def add_threads_flag(p) -> None:
    """``--threads N|auto`` on a command that runs the embedded model (sets ``$EVO_LOCAL_THREADS``, so
    Ray workers started from here use it too)."""
    p.add_argument("--threads", type=thread_count, metavar="N|auto",
                   help="CPU threads of the local model (default auto: one per core other processes leave free; "
                        "also $EVO_LOCAL_THREADS)")


def seed_list(text: str) -> list[int]:
    """``--seeds 0,1,2``: distinct non-negative whole numbers."""
    seeds = [non_negative_int(part.strip()) for part in text.split(",") if part.strip()]
    if not seeds:
        raise argparse.ArgumentTypeError("give at least one seed, e.g. 0,1,2")
    return seeds
