"""User check code runs where it can be killed: a small pool of worker processes per check.

A ``python`` check from a suite file is somebody else's code. It may loop in C holding the GIL, ignore
signals, sleep at import, call ``os._exit`` or ``sys.exit``. So it never runs in the evo process:

- the module is imported in a worker process (``evo.tasks.sandbox_worker``) under ``import_timeout_s``;
  a failed or slow import is a ``ValueError`` (the suite loader makes it a one-line config error);
- each call is sent to an idle worker and must answer within ``timeout_s``; otherwise the worker is
  killed with SIGKILL (which no code can ignore) and the call raises ``TimeoutError``: a failed
  example with category ``error``. The next call gets a fresh worker;
- a worker that dies mid-call (``os._exit``, a segfault, the OOM killer) raises ``RuntimeError``
  naming its exit code; ``sys.exit`` and ``KeyboardInterrupt`` inside the check come back as errors;
- workers get the environment minus secrets (``scrub_env``): a check cannot read the API key.

Bound on wall time: a call takes at most ``timeout_s`` + the kill (milliseconds); a call that must
start a worker adds the worker's start-up and import, bounded by ``import_timeout_s``. At most
``max_workers`` calls of one check run at once; further calls wait for a free worker.

Thread-safe. Pickles as its configuration (Ray ships it to other processes, which start their own
workers). Workers die with the parent (``PR_SET_PDEATHSIG``) and when it exits normally (``close``).
"""
from __future__ import annotations

import atexit
import json
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

_BOOT = "import sys; sys.path[:] = {path!r}; from evo.tasks.sandbox_worker import main; main()"
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "AUTH")
_LIVE: "weakref.WeakSet[SandboxedFunction]" = weakref.WeakSet()


def scrub_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) without variables whose names look like secrets."""
    env = dict(os.environ if env is None else env)
    return {k: v for k, v in env.items() if not any(w in k.upper() for w in _SECRET_WORDS)}


def _ending(code: int | None) -> str:
    """``exit code 3`` or ``killed by signal SIGSEGV`` for a child's return code."""
    if code is not None and code < 0:
        import signal

        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class _Worker:
    def __init__(self, setup: dict, import_timeout_s: float):
        evo_root = str(Path(__file__).resolve().parents[2])
        path = [evo_root, *[p for p in sys.path if p != evo_root]]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT.format(path=path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=scrub_env(), close_fds=True,
        )
        self._buf = b""
        self.send({**setup, "path": path})
        reply = self.receive(import_timeout_s, what=f"importing {setup['ref']!r}")
        if "error" in reply:
            self.kill()
            raise ValueError(reply["error"])

    def send(self, obj) -> None:
        data = pickle.dumps(obj)
        try:
            self.proc.stdin.write(struct.pack(">I", len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the read below reports how the worker ended

    def _read_exact(self, n: int, deadline: float, what: str) -> bytes:
        fd = self.proc.stdout.fileno()
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(what)
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                code = self.proc.wait()
                raise RuntimeError(f"the check's process ended ({_ending(code)})")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def receive(self, timeout_s: float, what: str) -> dict:
        deadline = time.monotonic() + timeout_s
        try:
            (size,) = struct.unpack(">I", self._read_exact(4, deadline, what))
            return json.loads(self._read_exact(size, deadline, what))
        except TimeoutError:
            self.kill()
            raise TimeoutError(f"{what} did not finish within {timeout_s:g} s (the check's process was killed)") from None
        except RuntimeError:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
            pass


class SandboxedFunction:
    """``fn(inputs, output, expected) -> (score, message)`` for the user callable ``ref``, run in killable
    worker processes (see the module docstring). Raises ``TimeoutError``/``RuntimeError`` for a call that
    did not finish, ``UserCheckError`` for a wrong return type or an exception inside the check."""

    enforces_timeout = True  # AssertionCheck need not wrap calls in its thread timeout

    def __init__(self, ref: str, base_dir: str | Path | None = None, *, timeout_s: float = 5.0,
                 import_timeout_s: float = 30.0, max_workers: int = 4):
        self.ref = ref
        self.base_dir = str(base_dir) if base_dir is not None else None
        self.timeout_s = float(timeout_s)
        self.import_timeout_s = float(import_timeout_s)
        self.max_workers = max(1, int(max_workers))
        self.__name__ = ref.rpartition(":")[2] or "python"
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.max_workers)
        _LIVE.add(self)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_runtime()

    def _setup(self) -> dict:
        return {"ref": self.ref, "base_dir": self.base_dir, "cwd": os.getcwd()}

    def warm(self) -> None:
        """Start one worker and import the check now: ``ValueError`` naming why the import failed or
        that it did not finish within ``import_timeout_s``."""
        try:
            worker = _Worker(self._setup(), self.import_timeout_s)
        except (TimeoutError, RuntimeError) as exc:
            raise ValueError(str(exc)) from None
        with self._lock:
            self._idle.append(worker)

    def __call__(self, inputs, output, expected):
        with self._slots:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None:
                try:
                    worker = _Worker(self._setup(), self.import_timeout_s)
                except ValueError as exc:
                    raise RuntimeError(str(exc)) from None
            worker.send((dict(inputs), output, expected))
            reply = worker.receive(self.timeout_s, what="the check")
            with self._lock:
                self._idle.append(worker)
        if "error" in reply:
            from evo.tasks.checks import UserCheckError

            raise UserCheckError(reply["error"])
        return float(reply["score"]), reply["message"]

    def close(self) -> None:
        """Stop the idle workers (a busy one is stopped when its call ends or times out)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


@atexit.register
def _close_all() -> None:
    for fn in list(_LIVE):
        fn.close()
