"""``code`` check: run the code in a model's output against the example's tests, in a child process
with hard limits; the score is the share of tests passed, the message the first failure.

The code is the last fenced block of the output (```python or ```), else the whole output. The tests
are Python (top-level ``assert`` statements and ``def test_*()`` functions, each one a test) from the
example's ``expected`` or from the input field ``tests_field``.

What the sandbox does (``run_code``):
- a fresh temporary directory as the working directory, removed afterwards;
- a clean environment (no API keys, no ``PYTHONPATH``; ``HOME`` is the temporary directory); ``python -I``;
- limits: CPU seconds (``RLIMIT_CPU``), address space (``RLIMIT_AS``), file size (``RLIMIT_FSIZE``),
  no core dumps, and a wall-clock timeout after which the whole process group is killed;
- where ``unshare`` can (root, or unprivileged user namespaces): no network (an empty network
  namespace); a PID namespace, so the code sees no other process (nor their environments) and
  everything it forked dies with it; a mount namespace in which every mount is read-only except the
  working directory; started as root, the code runs as ``nobody`` with at most 32 processes (a fork
  bomb stops there) and no capabilities, so it cannot undo any of that.
What it does not do: it is not a jail. It can read any file the evo process can read (a key kept in a
file is readable; one in the environment is not). Without ``unshare`` it can also use the network and
write wherever the evo process can. It can use the CPU and memory within the limits. Run suites you do
not trust in a container.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from evo.tasks.checks import Check

RUNNER = Path(__file__).with_name("code_runner.py")
_FENCE = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_code(output: str) -> str:
    """The last fenced code block of ``output``, else all of it."""
    blocks = _FENCE.findall(output)
    return blocks[-1] if blocks else output


@functools.lru_cache(maxsize=1)
def isolation_prefix() -> tuple[str, ...]:
    """The ``unshare`` command that gives the child no network and its own PID namespace, or ``()``
    where this machine allows neither (probed once)."""
    tool = shutil.which("unshare")
    if tool is None:
        return ()
    for flags in (["-n", "-p", "-f", "--kill-child", "-m", "--mount-proc"],
                  ["-r", "-n", "-p", "-f", "--kill-child", "-m", "--mount-proc"]):
        try:
            probe = subprocess.run([tool, *flags, "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return (tool, *flags)
    return ()


def _limits(cpu_s: float, memory_mb: int, file_mb: int):
    def apply() -> None:
        import resource

        os.setsid()
        cpu = max(1, int(cpu_s + 0.999))
        for which, value in ((resource.RLIMIT_CPU, (cpu, cpu + 1)),
                             (resource.RLIMIT_AS, (memory_mb * 2**20,) * 2),
                             (resource.RLIMIT_FSIZE, (file_mb * 2**20,) * 2),
                             (resource.RLIMIT_CORE, (0, 0))):
            try:
                resource.setrlimit(which, value)
            except (ValueError, OSError):
                pass
    return apply


def run_code(code: str, tests: str, *, timeout_s: float = 10.0, cpu_s: float = 5.0, memory_mb: int = 512,
             file_mb: int = 10) -> dict:
    """``{"passed", "total", "first_failure", "ran"}`` of ``tests`` against ``code`` (see the module)."""
    work = Path(tempfile.mkdtemp(prefix="evo-code-"))
    try:
        (work / "solution.py").write_text(code, encoding="utf-8")
        (work / "tests.py").write_text(tests, encoding="utf-8")
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(work),
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
        shutil.copy(RUNNER, work / "runner.py")
        os.chmod(work / "runner.py", 0o644)
        prefix = isolation_prefix()
        if prefix and os.geteuid() == 0:  # the runner runs the code as nobody: the directory is its
            os.chown(work, 65534, 65534)
        command = [*prefix, sys.executable, "-I", "-S", str(work / "runner.py"), *(["--prepare"] if prefix else [])]
        proc = subprocess.Popen(command, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=_limits(cpu_s, memory_mb, file_mb))
        try:
            code_ = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return {"passed": 0, "total": None, "first_failure": f"the code did not finish in {timeout_s:g} s",
                    "ran": True}
        result_file = work / "result.json"
        if result_file.is_file():
            try:
                return json.loads(result_file.read_text(encoding="utf-8")[:100_000])
            except ValueError:
                pass
        return {"passed": 0, "total": None, "ran": True,
                "first_failure": f"the code stopped before its tests finished: over its limit of {cpu_s:g} CPU "
                                 f"seconds or {memory_mb} MiB, or a crash (exit status {code_})"}
    finally:
        shutil.rmtree(work, ignore_errors=True)


class CodeCheck(Check):
    kind = "code"

    def __init__(self, tests_field: str | None = None, timeout_s: float = 10.0, cpu_s: float = 5.0,
                 memory_mb: int = 512, file_mb: int = 10, **kw):
        super().__init__(**kw)
        self.tests_field = tests_field
        self.limits = {"timeout_s": timeout_s, "cpu_s": cpu_s, "memory_mb": memory_mb, "file_mb": file_mb}

    def _run(self, output, expected, inputs):
        tests = inputs.get(self.tests_field) if self.tests_field else expected
        if not isinstance(tests, str) or not tests.strip():
            raise ValueError(f"no tests: {'input ' + repr(self.tests_field) if self.tests_field else 'expected'} "
                             "must hold Python asserts or test_ functions")
        code = extract_code(output)
        if not code.strip():
            return 0.0, "no code in the output", "empty_output"
        result = run_code(code, tests, **self.limits)
        total, passed = result.get("total"), int(result.get("passed") or 0)
        if total and passed == total:
            return 1.0, "", None
        message = result.get("first_failure") or "tests failed"
        category = "format_violation" if not result.get("ran", True) else "wrong_answer"
        return (passed / total if total else 0.0), message, category
