"""The CLI's consoles: rich on a terminal; on a pipe or file, lines are not hard-wrapped at 80 columns
(so logs and `grep` see whole lines) and tables get room for their columns."""
from __future__ import annotations

import sys

from rich.console import Console

PIPE_WIDTH = 200


def make_console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPE_WIDTH, soft_wrap=True)
