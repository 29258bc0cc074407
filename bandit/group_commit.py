"""Group commit: one writer thread per store turns many concurrent writes into few transactions.

Contract:
- ``submit(item)`` queues a write and returns a ``concurrent.futures.Future``. The writer thread takes
  every queued item (up to ``max_batch``), runs them through ``apply_batch(conn, items)`` inside one
  transaction and commits once. Only after that commit is each future resolved: a caller that waits
  on its future (``fut.result()`` or ``await asyncio.wrap_future(fut)``) learns of a write only once it
  is durable.
- ``apply_batch`` returns one outcome per item: a value, or an exception instance for an item that
  was refused (unknown or duplicate decision). A refused item must have written nothing; the others
  in its batch still commit.
- A database error fails the whole transaction; it is retried (a fresh transaction) up to
  ``retries`` times when transient (locked database, serialization failure or deadlock), otherwise
  every future of the batch gets a ``StoreError`` naming the cause. Nothing is acknowledged that did
  not commit.
- ``close()`` drains the queue and stops the thread.
"""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Sequence

_STOP = object()
TRANSIENT = ("database is locked", "deadlock detected", "could not serialize", "database table is locked")


class GroupCommitter:
    def __init__(self, engine, apply_batch: Callable[[Any, Sequence], list], *, error: type[Exception],
                 max_batch: int = 512, retries: int = 5, name: str = "store-writer"):
        self.engine, self.apply_batch, self.error = engine, apply_batch, error
        self.max_batch, self.retries = max_batch, retries
        self.batches = 0
        self.items = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._started = False
        self._start_lock = threading.Lock()

    def submit(self, item) -> Future:
        if not self._started:
            with self._start_lock:
                if not self._started:
                    self._thread.start()
                    self._started = True
        fut: Future = Future()
        self._queue.put((item, fut))
        return fut

    def close(self) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(30)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stop = [first], False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list) -> None:
        items = [item for item, _ in batch]
        for attempt in range(self.retries + 1):
            try:
                with self.engine.begin() as conn:
                    outcomes = self.apply_batch(conn, items)
                break
            except Exception as exc:  # noqa: BLE001 - every failure reaches the waiting callers
                transient = any(t in str(exc).lower() for t in TRANSIENT)
                if transient and attempt < self.retries:
                    time.sleep(0.01 * (2 ** attempt))
                    continue
                failure = self.error(f"store write failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                for _, fut in batch:
                    fut.set_exception(failure)
                return
        self.batches += 1
        self.items += len(batch)
        for (_, fut), outcome in zip(batch, outcomes):
            if isinstance(outcome, BaseException):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome)
