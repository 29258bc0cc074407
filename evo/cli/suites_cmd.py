"""``evo suites``: list the built-in suites with their tasks and split sizes."""
from __future__ import annotations

from evo.cli.console import make_console
from rich.table import Table

from evo.tasks.loader import builtin_suites, load_suite


def register(sub) -> None:
    p = sub.add_parser("suites", help="list the built-in eval suites")
    p.set_defaults(func=run)


def run(args) -> int:
    table = Table(title="Built-in suites (use the name wherever a SUITE path is expected)")
    for col in ("name", "tasks", "train", "val", "test", "description"):
        table.add_column(col)
    for name in builtin_suites():
        suite = load_suite(name)
        c = suite.counts()
        table.add_row(name, ", ".join(t.name for t in suite.tasks), str(c["train"]), str(c["val"]),
                      str(c["test"]), suite.description)
    make_console().print(table)
    return 0
