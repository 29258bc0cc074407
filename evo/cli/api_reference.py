"""``docs/api.md``: the Python API reference, generated from the docstrings and signatures of what
``import evo`` and ``import experiments`` export (``python -m evo.cli.api_reference > docs/api.md``;
a test regenerates it and compares, so the page cannot drift from the code)."""
from __future__ import annotations

import inspect
import sys
from importlib import import_module

ENTRIES = [  # (import path, what it is for): the order of the page
    ("evo.optimize", "one run"), ("evo.optimize_resolved", "one run"), ("evo.resolve_run", "one run"),
    ("evo.resume", "one run"), ("evo.load_suite", "suites"), ("evo.TaskSuite", "suites"),
    ("evo.RunSpec", "configs"), ("evo.ResolvedRun", "configs"), ("evo.PromptGenome", "prompts"),
    ("evo.RunResult", "results"), ("experiments.compare", "comparisons"),
    ("experiments.report.ComparisonReport", "comparisons"),
]
MEMBERS = {  # public methods and properties worth a line on a class
    "evo.TaskSuite": ["split", "counts", "limit", "example", "task_of", "subset"],
    "evo.PromptGenome": ["replace", "content", "to_json", "from_json", "shown_demos"],
    "evo.RunResult": ["recommended_genome", "test_records", "calls", "every_call_failed", "to_dataframe", "to_json"],
    "evo.ResolvedRun": ["sha256"],
    "experiments.report.ComparisonReport": ["to_dataframe", "to_json"],
}


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def _doc(obj) -> str:
    return inspect.cleandoc(obj.__doc__ or "").strip()


def _signature(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return ""


def api_markdown() -> str:
    lines = ["# API reference", "",
             "Generated from the code's docstrings (`python -m evo.cli.api_reference > docs/api.md`; a test fails "
             "when this page is stale). Everything below is importable as written; `import evo` is cheap (names are "
             "imported on first use).", ""]
    section = None
    for path, group in ENTRIES:
        if group != section:
            section = group
            lines += [f"## {group.capitalize()}", ""]
        obj = _resolve(path)
        kind = "class" if inspect.isclass(obj) else "function"
        signature = "" if kind == "class" and hasattr(obj, "model_fields") else _signature(obj)
        lines += [f"### `{path}`", "", f"```python\n{kind} {path.rpartition('.')[2]}{signature}\n```", ""]
        if _doc(obj):
            lines += [_doc(obj), ""]
        if hasattr(obj, "model_fields") and obj.model_fields:
            lines += ["Fields: " + ", ".join(f"`{name}`" for name in obj.model_fields) +
                      " (types, defaults and meanings: [the config reference](config.md)).", ""]
        for member in MEMBERS.get(path, []):
            attr = inspect.getattr_static(obj, member)
            target = attr.fget if isinstance(attr, property) else getattr(obj, member)
            what = "property" if isinstance(attr, property) else f"{member}{_signature(target)}"
            first = _doc(target).split("\n\n")[0].replace("\n", " ")
            lines.append(f"- `{member if what == 'property' else what}`{' (property)' if what == 'property' else ''}"
                         + (f": {first}" if first else ""))
        if MEMBERS.get(path):
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(api_markdown())
