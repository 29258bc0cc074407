"""The child side of the ``code`` check: run ``solution.py`` then the tests of ``tests.py`` (both in the
working directory) and write ``result.json``: ``{"passed", "total", "first_failure"}``.

Run as a script (``python -I code_runner.py [--prepare]``), standard library only. With ``--prepare``
(root inside ``unshare -m``) it first makes every mount read-only but the working directory, then runs
the code as ``nobody`` (when the directory was given to it) with at most ``MAX_PROCESSES`` processes
and no capabilities, so it cannot write outside its directory, undo that, or fork without bound. Tests are the top-level ``assert``
statements of ``tests.py`` (each one a test; other statements are setup) and its ``def test_*()``
functions (each one a test, called with no arguments).
"""
import ast
import json
import os
import sys


MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384
NOBODY = 65534
MAX_PROCESSES = 32  # a fork bomb stops here (RLIMIT_NPROC binds an unprivileged user, not root)


def read_only_world() -> bool:
    """Inside a private mount namespace (``unshare -m``): every mount read-only but the working
    directory. True when it worked (root in the namespace), False otherwise (nothing changed)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    work = os.getcwd().encode()
    if libc.mount(work, work, None, MS_BIND | MS_REC, None) != 0:
        return False
    os.chdir(work)  # into the new mount (the old working directory is the one about to turn read-only)
    # the interpreter's files where an unprivileged user can reach them (its prefix may sit under a
    # home directory only root may enter): the code runs as nobody from this copy
    os.makedirs(".py", exist_ok=True)
    libc.mount(sys.base_prefix.encode(), os.path.abspath(".py").encode(), None, MS_BIND | MS_REC, None)
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        targets = [line.split()[4] for line in f]
    for target in sorted(set(targets), key=len):
        if target == os.getcwd() or target.startswith("/proc"):
            continue
        libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)  # best effort per mount
    return True


def prepare_and_run() -> None:
    """``--prepare`` (root inside the namespaces): make the file system read-only outside the working
    directory, then run the tests with no capabilities left (so nothing can remount it)."""
    if read_only_world():
        setpriv = "/usr/bin/setpriv" if os.path.exists("/usr/bin/setpriv") else "/bin/setpriv"
        python = os.path.abspath(f".py/bin/python{sys.version_info.major}.{sys.version_info.minor}")
        drop = ["--bounding-set=-all", "--inh-caps=-all", "--no-new-privs"]
        if os.path.exists(setpriv) and os.path.exists(python) and os.stat(".").st_uid == NOBODY:
            import resource

            resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))  # counted for nobody
            os.execv(setpriv, [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *drop,
                               python, "-I", "-S", os.path.abspath(__file__)])
        if os.path.exists(setpriv):
            os.execv(setpriv, [setpriv, *drop, sys.executable, "-I", "-S", os.path.abspath(__file__)])
    main()


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return " ".join(text.split())[:300]


def run_tests(namespace: dict, source: str) -> tuple[int, int, str]:
    tree = ast.parse(source, "tests.py")
    passed = total = 0
    first = ""
    for node in tree.body:
        is_test_fn = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
        code = compile(ast.Module(body=[node], type_ignores=[]), "tests.py", "exec")
        if isinstance(node, ast.Assert):
            total += 1
            label = ast.get_source_segment(source, node) or "assert"
        elif is_test_fn:
            total += 1
            label = f"{node.name}()"
        else:
            exec(code, namespace)  # setup; an error here ends the run (counted by the caller)
            continue
        try:
            exec(code, namespace)
            if is_test_fn:
                namespace[node.name]()
            passed += 1
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failing test is data
            if not first:
                first = f"{label.splitlines()[0][:120]} failed: {describe(exc)}"
    return passed, total, first


def main() -> None:
    with open("tests.py", encoding="utf-8") as f:
        tests = f.read()
    with open("solution.py", encoding="utf-8") as f:
        solution = f.read()
    total = sum(isinstance(n, ast.Assert) or (isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                                              and n.name.startswith("test")) for n in ast.parse(tests).body)
    namespace: dict = {"__name__": "__main__"}
    try:
        exec(compile(solution, "solution.py", "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001 - the solution did not even run
        result = {"passed": 0, "total": total, "first_failure": f"the code does not run: {describe(exc)}",
                  "ran": False}
    else:
        try:
            passed, counted, first = run_tests(namespace, tests)
            result = {"passed": passed, "total": counted, "first_failure": first, "ran": True}
        except BaseException as exc:  # noqa: BLE001 - a test's setup failed
            result = {"passed": 0, "total": total, "first_failure": f"the tests' setup failed: {describe(exc)}",
                      "ran": True}
    with open("result.json", "w", encoding="utf-8") as f:
        json.dump(result, f)
    sys.stdout.flush()
    os._exit(0)  # no atexit handlers or threads of the solution can change the verdict


if __name__ == "__main__":
    prepare_and_run() if sys.argv[1:] == ["--prepare"] else main()
