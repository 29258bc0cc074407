# PYTHON_ARGCOMPLETE_OK
"""``evo`` entry point: subcommand registry and uniform error handling.

Exit codes (documented in ``docs/security.md``; CI may rely on them):

- 0: done; 1: a quality gate failed (``--fail-under``);
- 2: bad input: a config, suite, genome or data file that cannot be used as written, a file-system error
  (one line ``evo: error: FILE: FIELD: why`` on stderr);
- 3: an internal error, i.e. a bug (one line ``evo: internal error: ...``; ``-v`` shows the traceback);
- 4: a runtime failure: the input was fine but the model calls failed (every call, the first
  ``FAIL_FAST_CALLS`` of a run, or more than ``--max-errors``) or a backend failed outside an evaluation;
- 130: interrupted by Ctrl-C, 143: by SIGTERM (128 + the signal), after the run's checkpoint and tracker
  state are written.

Every printed error is redacted (``evo.redact``).
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from evo.errors import BackendError, EvoError, RunFailure, printable


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("evo-bandit")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
        from evo import __version__

        return __version__


class Terminated(KeyboardInterrupt):
    """A signal (SIGTERM) ended the command: everything that handles Ctrl-C handles it (checkpoint
    kept, tracker runs KILLED); the exit code is 128 + the signal's number (143), as shells expect."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def _terminate(signum, frame):
    raise Terminated(signum)


def build_parser() -> argparse.ArgumentParser:
    from evo.cli import (ablate_cmd, bandit_cmd, compare_cmd, eval_cmd, improve_cmd, judge_check_cmd, optimize_cmd,
                         resume_cmd, schema_cmd, suites_cmd)

    parser = argparse.ArgumentParser(
        prog="evo",
        description="Optimize LLM prompts against your evals; compare strategies; deploy winners.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging (and tracebacks of internal errors)")
    parser.add_argument("--version", action="version", version=f"evo {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (eval_cmd, optimize_cmd, compare_cmd, ablate_cmd, resume_cmd, bandit_cmd, improve_cmd, suites_cmd,
                   judge_check_cmd, schema_cmd):
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    import os

    from evo.registry import load_plugins

    try:  # before the parser: a plugin's kinds are valid CLI choices
        load_plugins(os.environ.get("EVO_PLUGINS"))
    except EvoError as exc:
        print(f"evo: error: {exc}", file=sys.stderr)
        return 2
    parser = build_parser()
    if argv is None:  # a real command line: tab completion when the shell asks (argcomplete)
        try:
            import argcomplete
        except ImportError:  # pragma: no cover - argcomplete is a core dependency
            pass
        else:
            argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from evo.redact import install_log_filter, redact, register_env_secrets

    register_env_secrets()
    install_log_filter()
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if getattr(args, "threads", None):
        from evo.llm.local import THREADS_ENV

        os.environ[THREADS_ENV] = args.threads
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.func(args) or 0)
    except (RunFailure, BackendError) as exc:
        print(f"evo: error: {exc}", file=sys.stderr)
        return 4
    except EvoError as exc:
        print(f"evo: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        run_dir = getattr(args, "run_dir_in_use", None)
        how = f"`evo resume {run_dir}` continues it" if run_dir else "`evo resume RUN_DIR` continues a run"
        print(f"evo: interrupted (the last checkpoint is kept; {how})", file=sys.stderr)
        return 128 + exc.signum if isinstance(exc, Terminated) else 130
    except OSError as exc:  # a read-only directory, a full disk, a path that is a directory, ...
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"evo: error: {printable(redact(where + str(exc.strerror or exc)))}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line, the traceback with -v
        if args.verbose:
            raise
        print(f"evo: internal error: {type(exc).__name__}: {printable(redact(' '.join(str(exc).split())))[:300]} "
              "(run with -v for the traceback; please report it)", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
