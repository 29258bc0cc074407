"""SQLite settings shared by the response cache and the bandit store.

Switching a fresh database to WAL needs a moment of exclusive access, and SQLite answers "database
is locked" at once (the busy timeout does not cover it) when another process opens the same new file
at the same time. ``enable_wal`` retries that switch with a short backoff (bounded, ~10 s in all).
"""
from __future__ import annotations

import sqlite3
import time


def enable_wal(conn, attempts: int = 100, delay_s: float = 0.1, synchronous: str = "NORMAL") -> None:
    """``PRAGMA journal_mode=WAL`` and ``synchronous`` (``NORMAL``: a commit survives a crash of the
    process; ``FULL``: it also survives a power loss, one fsync per commit) on a DB-API sqlite3
    connection."""
    for attempt in range(attempts):
        try:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.close()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(delay_s)
