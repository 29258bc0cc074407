"""The child side of ``evo.tasks.sandbox``: imports one user check and answers calls to it.

Run only by ``evo.tasks.sandbox`` (``python -c`` bootstrap). Protocol on the inherited stdin/stdout
pipes: 4-byte big-endian length + payload. Requests are pickles from the parent (trusted); replies are
JSON (the parent never unpickles what user code could have written). The worker's own fds 0/1 are
pointed at /dev/null first, so a check that prints or reads stdin cannot break the protocol.

Only the standard library is imported here: a worker starts in about the time Python itself does.
"""
from __future__ import annotations

import ctypes
import importlib
import importlib.util
import json
import numbers
import os
import pickle
import re
import signal
import struct
import sys
from pathlib import Path

MAX_MESSAGE = 2000


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when the parent process dies (even by SIGKILL)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the parent's pipes closing still ends an idle worker
        pass


def _read(stream) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    return stream.read(size)


def _write(stream, obj) -> None:
    data = json.dumps(obj).encode("utf-8")
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the check called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {exc}"[:MAX_MESSAGE]


def import_callable(ref: str, base_dir: str | None):
    """``module:function`` or ``file.py:function`` (relative to ``base_dir``); ``ValueError`` says why not."""
    if ":" not in ref:
        raise ValueError(f"assertion reference {ref!r} must look like 'module:function' or 'file.py:function'")
    target, _, attr = ref.rpartition(":")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.is_file():
            raise ValueError(f"assertion file {str(path)!r} does not exist")
        mod_name = "evo_user_assertions_" + re.sub(r"\W", "_", str(path.resolve()))
        spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt at import too
            raise ValueError(f"importing {str(path)!r} failed: {_describe(exc)}") from None
    else:
        try:
            module = importlib.import_module(target)
        except BaseException as exc:  # noqa: BLE001
            raise ValueError(f"cannot import module {target!r}: {_describe(exc)}") from None
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        raise ValueError(f"{target!r} has no callable {attr!r}")
    return fn


def normalize(result) -> dict:
    """A check's return value as ``{"score", "message"}``, or ``{"error"}`` for a value of the wrong shape."""
    message = ""
    if isinstance(result, tuple):
        if len(result) != 2:
            return {"error": "TypeError: assertion must return bool, float or (score, message)"}
        result, message = result
    if isinstance(result, bool) or type(result).__name__ == "bool_":
        score = 1.0 if result else 0.0
    elif isinstance(result, numbers.Real):
        score = float(result)
    else:
        return {"error": f"TypeError: assertion returned {type(result).__name__}; expected bool, float or "
                         "(score, message)"}
    return {"score": score, "message": str(message or "")[:MAX_MESSAGE]}


def main() -> None:
    _die_with_parent()
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the worker
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    init = _read(proto_in)
    if init is None:
        return
    setup = pickle.loads(init)
    sys.path[:] = setup["path"]
    if setup.get("cwd"):
        os.chdir(setup["cwd"])
    try:
        fn = import_callable(setup["ref"], setup.get("base_dir"))
    except ValueError as exc:
        _write(proto_out, {"error": str(exc)})
        return
    _write(proto_out, {"ok": True})
    while (request := _read(proto_in)) is not None:
        args = pickle.loads(request)
        try:
            reply = normalize(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - sys.exit, KeyboardInterrupt: a failed example
            reply = {"error": _describe(exc)}
        try:
            _write(proto_out, reply)
        except (TypeError, ValueError) as exc:  # pragma: no cover - normalize returns plain values
            _write(proto_out, {"error": _describe(exc)})
