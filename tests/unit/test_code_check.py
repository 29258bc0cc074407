"""``code`` check: correct and wrong code, and code that attacks the machine (each must end as a failed
check, quickly, leaving nothing behind)."""
import os
import time

import pytest

from evo.tasks.check_config import CHECKS, build_check
from evo.tasks.code_check import extract_code, isolation_prefix

TESTS = "assert add(1, 2) == 3\nassert add(-1, 1) == 0\ndef test_big():\n    assert add(10**6, 1) == 10**6 + 1\n"


def check(**options):
    return build_check(CHECKS["code"].config.model_validate({"kind": "code", **options}))


def run(code, tests=TESTS, **options):
    start = time.monotonic()
    result = check(**{"timeout_s": 8, "cpu_s": 2, **options})(f"```python\n{code}\n```", tests, {})
    return result, time.monotonic() - start


def test_correct_code_passes_every_test():
    result, _ = run("def add(a, b):\n    return a + b")
    assert result.passed and result.score == 1.0


def test_wrong_code_scores_the_share_passed_and_names_the_first_failure():
    result, _ = run("def add(a, b):\n    return a + b if a > 0 else 99")
    assert result.score == pytest.approx(2 / 3) and result.category == "wrong_answer"
    assert result.message.startswith("assert add(-1, 1) == 0 failed")


def test_code_that_does_not_run_is_a_format_violation():
    result, _ = run("def add(a, b) return a + b")
    assert result.score == 0 and result.category == "format_violation" and "SyntaxError" in result.message


def test_an_infinite_loop_is_stopped():
    result, took = run("def add(a, b):\n    while True:\n        pass", cpu_s=1, timeout_s=5)
    assert not result.passed and took < 15 and ("CPU" in result.message or "did not finish" in result.message)


def test_a_10_gb_allocation_fails_inside_the_limit():
    result, took = run("buffer = bytearray(10 * 2**30)\ndef add(a, b):\n    return a + b")
    assert not result.passed and "MemoryError" in result.message and took < 15


def test_a_fork_bomb_is_contained():
    result, took = run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
                       timeout_s=3, cpu_s=2)
    assert not result.passed and took < 20
    if isolation_prefix():  # a PID namespace: nothing it forked outlives it (the kernel reaps them all)
        deadline = time.monotonic() + 60
        while _strays() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _strays() == []


def _strays() -> list[str]:
    return [p for p in os.listdir("/proc") if p.isdigit() and "evo-code-" in _cmdline(p)]


def _cmdline(pid: str) -> str:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.skipif(not isolation_prefix(), reason="no mount namespace (unshare) on this machine")
def test_it_cannot_write_outside_its_directory(tmp_path):
    target = tmp_path / "written.txt"
    result, _ = run(f"open({str(target)!r}, 'w').write('x')\ndef add(a, b):\n    return a + b")
    assert not target.exists() and not result.passed
    assert "Read-only file system" in result.message or "Permission denied" in result.message
    escape = "import subprocess\nsubprocess.run(['mount', '-o', 'remount,rw', '/'])\n" + \
        f"open({str(target)!r}, 'w').write('x')\ndef add(a, b):\n    return a + b"
    result, _ = run(escape)  # remounting needs a capability the code no longer has
    assert not target.exists() and not result.passed


def test_it_cannot_read_api_keys(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-secret-in-the-parent")
    tests = ("import os\nassert not [k for k in os.environ if 'KEY' in k]\n"
             "leaked = b''\nfor p in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
             "    try:\n        leaked += open(f'/proc/{p}/environ', 'rb').read()\n"
             "    except OSError:\n        pass\nassert b'sk-ant' not in leaked\n")
    result, _ = run("def add(a, b):\n    return a + b", tests=tests)
    assert result.passed, result.message


def test_no_network_where_unshare_is_available():
    if not isolation_prefix():
        pytest.skip("no unshare on this machine: the code check cannot take the network away")
    tests = ("import socket\ns = socket.socket()\ns.settimeout(2)\n"
             "try:\n    s.connect(('1.1.1.1', 53))\n    reached = True\nexcept OSError:\n    reached = False\n"
             "assert not reached\n")
    result, _ = run("def add(a, b):\n    return a + b", tests=tests)
    assert result.passed, result.message


def test_the_last_fenced_block_is_the_code():
    assert extract_code("Here:\n```python\nx = 1\n```\nbetter:\n```\nx = 2\n```") == "x = 2\n"
    assert extract_code("x = 3") == "x = 3"


@pytest.mark.skipif(not isolation_prefix() or os.geteuid() != 0, reason="needs unshare and a root parent")
def test_started_as_root_the_code_runs_as_nobody_with_a_process_cap():
    tests = ("import os, resource\nassert os.getuid() == 65534\n"
             "assert resource.getrlimit(resource.RLIMIT_NPROC)[0] == 32\n")
    result, _ = run("def add(a, b):\n    return a + b", tests=tests)
    assert result.passed, result.message


def test_the_builtin_codegen_suite_scores_correct_solutions_fully():
    """Every example of the shipped code-generation suite is passable: a reference solution passes its tests."""
    from evo.tasks.loader import load_suite
    solutions = {"add": "return a + b", "square": "return x * x", "is_even": "return n % 2 == 0",
                 "maximum": "return max(xs)", "reverse": "return s[::-1]",
                 "count_vowels": "return sum(ch in 'aeiou' for ch in s)",
                 "factorial": "import math\n    return math.factorial(n)",
                 "fib": "a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
                 "is_palindrome": "return s == s[::-1]", "total": "return sum(xs)",
                 "average": "return sum(xs) / len(xs)", "count_words": "return len(s.split())",
                 "capitalize_words": "return ' '.join(w[:1].upper() + w[1:] for w in s.split(' '))",
                 "only_positive": "return [x for x in xs if x > 0]",
                 "celsius_to_fahrenheit": "return c * 9 / 5 + 32", "last": "return xs[-1]",
                 "repeat": "return s * n", "minimum": "return min(a, b)", "absolute": "return abs(x)",
                 "char_count": "return s.count(c)", "unique": "return list(dict.fromkeys(xs))",
                 "is_prime": "return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))",
                 "word_lengths": "return [len(w) for w in s.split()]", "sum_digits": "return sum(map(int, str(n)))"}
    suite = load_suite("codegen")
    check = suite.tasks[0].checks[0]
    for ex in suite.examples:
        signature = ex.inputs["signature"]
        body = solutions[signature.split("(")[0]]
        result = check(f"```python\ndef {signature}:\n    {body}\n```", ex.expected, ex.inputs)
        assert result.passed, (ex.id, result.message)
