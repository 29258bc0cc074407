"""``CpuShare``: how many of this process's cores other processes leave free, and the llama.cpp thread
count that follows from it.

Why: llama.cpp's threads meet at a barrier after every operation and spin while they wait, so when
another process takes one of the two cores the model runs at a fraction of its speed with two threads
(measured on this 2-core machine, ``benchmarks/bench_contention.py``: 5.6 calls/s quiet, 1.6 with
one competing CPU-bound process; one thread: 3.9 either way). Polling off (``poll=0``) does not help:
the barrier spins regardless.

How: every ``interval_s`` at most, the busy time of the CPUs this process may run on (``/proc/stat``,
restricted to its affinity set) minus this process's own CPU time (``os.times``), over the wall time
since the last sample, is the load of the other processes; the free cores are the rest. Linux only:
elsewhere ``free_cores()`` is ``None`` and callers keep their configured thread count.
"""
from __future__ import annotations

import os
import time


def usable_cpus() -> list[int]:
    """The CPUs this process may run on (its affinity set; every CPU where that is unknown)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def busy_seconds(cpus: list[int], stat_text: str, ticks_per_s: float) -> float:
    """Non-idle time of ``cpus`` in a ``/proc/stat`` text (user, nice, system, irq, softirq, steal)."""
    wanted = {f"cpu{i}" for i in cpus}
    busy = 0
    for line in stat_text.splitlines():
        name, _, rest = line.partition(" ")
        if name in wanted:
            fields = [int(x) for x in rest.split()[:8]]
            busy += sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)  # minus idle, iowait
    return busy / ticks_per_s


def threads_for(free_cores: float | None, max_threads: int) -> int:
    """The thread count for ``free_cores`` (None: unknown, keep ``max_threads``): one per free core, a
    core three quarters free counting as free, at least one."""
    if free_cores is None:
        return max_threads
    return max(1, min(max_threads, int(free_cores + 0.25)))


class CpuShare:
    def __init__(self, interval_s: float = 0.5, *, stat_path: str = "/proc/stat", clock=time.monotonic,
                 own_cpu_s=None):
        self.cpus = usable_cpus()
        self.interval_s = interval_s
        self.stat_path = stat_path
        self.clock = clock
        self.own_cpu_s = own_cpu_s or (lambda: (lambda t: t.user + t.system)(os.times()))
        self._ticks = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
        self._last = self._sample()
        self.free: float | None = None

    def _sample(self) -> tuple[float, float, float] | None:
        try:
            with open(self.stat_path, encoding="ascii") as f:
                text = f.read()
        except OSError:
            return None
        return self.clock(), busy_seconds(self.cpus, text, self._ticks), self.own_cpu_s()

    def free_cores(self) -> float | None:
        """Cores the other processes left free over the last interval (a new measurement once
        ``interval_s`` has passed since the last, else the last one); None until one is possible."""
        if self._last is None:
            return None
        now = self.clock()
        if now - self._last[0] < self.interval_s:
            return self.free
        sample = self._sample()
        if sample is None:
            return self.free
        wall = sample[0] - self._last[0]
        others = max(0.0, (sample[1] - self._last[1]) - (sample[2] - self._last[2])) / wall
        self.free = max(0.0, len(self.cpus) - others)
        self._last = sample
        return self.free


class ThroughputWatch:
    """Says when the model runs far below the speed it showed earlier in this process: tokens a second
    over windows of ``window`` calls, against the best window so far. ``add(tokens, seconds)`` returns
    the slowdown (best / now, > ``factor``) when a finished window is that much slower, at most once
    per ``every`` windows; else None."""

    def __init__(self, window: int = 16, factor: float = 3.0, every: int = 8):
        self.window, self.factor, self.every = window, factor, every
        self.best = 0.0
        self._tokens = 0
        self._seconds = 0.0
        self._calls = 0
        self._quiet = 0  # windows to wait before saying it again

    def add(self, tokens: int, seconds: float) -> float | None:
        self._tokens += tokens
        self._seconds += seconds
        self._calls += 1
        if self._calls < self.window:
            return None
        rate = self._tokens / self._seconds if self._seconds > 0 else 0.0
        self._tokens, self._seconds, self._calls = 0, 0.0, 0
        self.best = max(self.best, rate)
        self._quiet = max(0, self._quiet - 1)
        if rate > 0 and self.best / rate > self.factor and not self._quiet:
            self._quiet = self.every
            return self.best / rate
        return None
