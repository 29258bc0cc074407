"""Persistent response cache in a SQLite file, and ``CachedBackend`` that puts it in front of a backend.

Contract:
- Safe across threads (one connection per thread) and processes (SQLite WAL + busy timeout).
- Keys are ``LLMRequest.key(backend.fingerprint)``: the same request to the same model hits.
- Only successful, well-formed responses (text is a string) are stored; a malformed one raises
  ``BackendError`` and is never written. Writes are buffered and flushed every ``flush_every`` puts,
  on ``flush()``, and at interpreter exit; pending writes are visible to ``get`` immediately.
- A cached response keeps the latency and usage of the original call and has ``cached=True``.
- The file is untrusted (another process, a crash, a hand edit): a row that does not parse as a
  response is a miss. It is deleted, logged once per cache, counted (``stats()["corrupt"]``), and the
  request is made again.
- A cache another process keeps locked longer than ``lock_timeout_s`` is given up: a warning, and the
  run goes on uncached. Responses already obtained are returned either way: a cache problem never loses
  an evaluation's output.
"""
from __future__ import annotations

import atexit
import json
import logging
import sqlite3
import threading
import time
import weakref
from pathlib import Path

from evo.errors import BackendError, ConfigError
from evo.llm.base import LLMRequest, LLMResponse, request_fingerprint
from evo.sqlite_util import enable_wal

CACHE_SCHEMA_VERSION = 1
log = logging.getLogger(__name__)


class ResponseCache:
    def __init__(self, path: str | Path, flush_every: int = 256, lock_timeout_s: float = 10.0):
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s
        self.disabled = False  # set when the file stayed locked: the run goes on uncached
        self.corrupt = 0
        self._warned: set[str] = set()
        try:
            self._open(flush_every)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(self.path, f"not a usable response cache ({exc}); move it away or choose another "
                                         "file with --cache") from None
        except OSError as exc:
            raise ConfigError(self.path, f"cannot open the response cache: {exc.strerror or exc}") from None

    def _open(self, flush_every: int) -> None:
        if self.path.is_dir():
            raise ConfigError(self.path, "the response cache path is a directory")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.flush_every = flush_every
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[str, str, float]] = {}
        self.hits = 0
        self.misses = 0
        conn = self._conn()
        with conn:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
                " response TEXT NOT NULL, created REAL NOT NULL)"
            )
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(CACHE_SCHEMA_VERSION),))
            elif row[0] != str(CACHE_SCHEMA_VERSION):
                raise ConfigError(self.path, f"response cache of schema version {row[0]}, this version reads "
                                             f"{CACHE_SCHEMA_VERSION}: choose another file with --cache")
        ref = weakref.ref(self)
        atexit.register(lambda: ref() is not None and ref().flush())

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.lock_timeout_s, isolation_level=None,
                                   check_same_thread=False)
            enable_wal(conn)
            self._local.conn = conn
        return conn

    def _warn_once(self, what: str, message: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            log.warning("response cache %s: %s", self.path, message)

    def _give_up(self, exc: Exception) -> None:
        self.disabled = True
        self._warn_once("locked", f"unusable ({exc}); continuing without the cache")

    def get(self, key: str) -> LLMResponse | None:
        """The cached response for ``key``, or None (a miss, a corrupt row, an unusable cache)."""
        pending = self._pending.get(key)
        data = None
        if pending is not None:
            data = pending[1]
        elif not self.disabled:
            try:
                row = self._conn().execute("SELECT response FROM responses WHERE key=?", (key,)).fetchone()
                data = row[0] if row else None
            except sqlite3.Error as exc:
                self._give_up(exc)
        response = self._parse(key, data) if data is not None else None
        with self._lock:
            if response is None:
                self.misses += 1
            else:
                self.hits += 1
        return response

    def _parse(self, key: str, data) -> LLMResponse | None:
        try:
            response = LLMResponse.from_json(json.loads(data), cached=True)
            if not isinstance(response.text, str):
                raise TypeError(f"text is {type(response.text).__name__}")
            return response
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            self.corrupt += 1
            self._warn_once("corrupt", f"corrupt row(s) ignored and deleted, requests made again "
                                       f"(first: {type(exc).__name__}: {str(exc)[:100]})")
            with self._lock:
                self._pending.pop(key, None)
            try:
                self._conn().execute("DELETE FROM responses WHERE key=?", (key,))
            except sqlite3.Error:
                pass
            return None

    def put(self, key: str, fingerprint: str, response: LLMResponse) -> None:
        payload = json.dumps(response.to_json(), separators=(",", ":"))
        with self._lock:
            self._pending[key] = (fingerprint, payload, time.time())
            due = len(self._pending) >= self.flush_every
        if due:
            self.flush()

    def flush(self) -> None:
        """Write pending responses. A cache locked past ``lock_timeout_s`` (or otherwise unusable) is
        given up with a warning; the pending responses are then dropped, never raised."""
        with self._lock:
            if not self._pending:
                return
            if self.disabled:
                self._pending.clear()
                return
            rows = [(k, fp, data, ts) for k, (fp, data, ts) in self._pending.items()]
            try:
                conn = self._conn()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)", rows)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                self._give_up(exc)
            self._pending.clear()

    def __len__(self) -> int:
        self.flush()
        return self._conn().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def stats(self) -> dict[str, float]:
        total = self.hits + self.misses
        return {"hits": self.hits, "misses": self.misses, "hit_rate": self.hits / total if total else 0.0,
                "corrupt": self.corrupt}


class CachedBackend:
    """An ``LLMBackend`` that answers from ``cache`` when it can and stores what ``inner`` returns."""

    def __init__(self, inner, cache: ResponseCache):
        self.inner = inner
        self.cache = cache
        self.fingerprint = inner.fingerprint
        self.max_concurrency = inner.max_concurrency

    def complete(self, request: LLMRequest) -> LLMResponse:
        fingerprint = self.fingerprint_for(request)
        key = request.key(fingerprint)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        response = self.inner.complete(request)
        if not isinstance(response.text, str):  # never cache (or return) a malformed response
            raise BackendError(f"malformed response: text is {type(response.text).__name__}, not a string")
        self.cache.put(key, fingerprint, response)
        return response

    def fingerprint_for(self, request: LLMRequest) -> str:
        return request_fingerprint(self.inner, request)

    @property
    def supports_batch(self) -> bool:
        return hasattr(self.inner, "complete_batch")

    def complete_batch(self, requests: list[LLMRequest]) -> list:
        """Cached answers for the requests the cache holds; the rest as one batch of ``inner``
        (successes are stored). Outcomes in request order: ``LLMResponse`` or ``BackendError``."""
        fingerprints = [self.fingerprint_for(r) for r in requests]
        keys = [r.key(f) for r, f in zip(requests, fingerprints)]
        out: list = [self.cache.get(k) for k in keys]
        missing = [i for i, hit in enumerate(out) if hit is None]
        if missing:
            for i, outcome in zip(missing, self.inner.complete_batch([requests[i] for i in missing])):
                if isinstance(outcome, LLMResponse) and not isinstance(outcome.text, str):
                    outcome = BackendError(f"malformed response: text is {type(outcome.text).__name__}, not a string")
                if isinstance(outcome, LLMResponse):
                    self.cache.put(keys[i], fingerprints[i], outcome)
                out[i] = outcome
        return out

    def flush(self) -> None:
        self.cache.flush()

    def stats(self) -> dict[str, float]:
        return self.cache.stats()
