"""``evo schema [run|experiment|suite|genome|router]``: the JSON Schema of a config file, from the
pydantic models that validate it (for editor completion: point your YAML language server at it), and
``evo schema --reference``: the Markdown config reference (``docs/config.md``) generated from the same
models, so the reference cannot drift from what is accepted (a test regenerates it and compares).
"""
from __future__ import annotations

import json
import sys

KINDS = ("run", "experiment", "suite", "genome", "router")
TITLES = {
    "run": ("Run config (`evo optimize --config`)", "A run: one strategy on one suite. Every field is optional."),
    "experiment": ("Experiment config (`evo compare`)", "Several strategies x seeds x suites at one budget; it "
                   "shares `budget`, `task_model`, `optimizer`, `evaluator`, `cache` and `split_limits` with a "
                   "run config, and names `strategies` (a mapping) instead of one `strategy`."),
    "suite": ("Suite file", "Tasks, their checks and examples. One task: its fields at the top level; several: "
              "a `tasks` list."),
    "genome": ("Genome file (`--prompt-file x.yaml`)", "A prompt and its settings."),
    "router": ("Router config (`evo bandit serve`)", "What `evo bandit serve` flags become."),
}


def register(sub) -> None:
    p = sub.add_parser("schema", help="JSON Schema of a config file (or the Markdown config reference)",
                       description="Print the JSON Schema of a config file, from the models that validate it.")
    p.add_argument("kind", nargs="?", choices=KINDS, default="run", help="which file (default: run)")
    p.add_argument("--reference", action="store_true", help="print the Markdown config reference (docs/config.md)")
    p.set_defaults(func=run)


def model_of(kind: str):
    """The pydantic type that validates a ``kind`` file (a class or a ``TypeAdapter``)."""
    from pydantic import TypeAdapter

    if kind == "run":
        from evo.run.spec import RunSpec
        return RunSpec
    if kind == "experiment":
        from experiments.config import ExperimentConfig
        return ExperimentConfig
    if kind == "suite":
        from evo.tasks.loader import MultiTaskSuiteConfig, SingleTaskSuiteConfig
        return TypeAdapter(MultiTaskSuiteConfig | SingleTaskSuiteConfig)
    if kind == "genome":
        from evo.genome import PromptGenome
        return PromptGenome
    from bandit.service import ServeConfig
    return ServeConfig


def json_schema(kind: str) -> dict:
    model = model_of(kind)
    schema = model.json_schema() if hasattr(model, "json_schema") else model.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def run(args) -> int:
    if args.reference:
        sys.stdout.write(reference_markdown())
    else:
        print(json.dumps(json_schema(args.kind), indent=2))
    return 0


# ---- the Markdown reference ---------------------------------------------------------------------------
def _type(node: dict, defs: dict) -> str:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return f"[{defs.get(name, {}).get('title', name)}](#{_anchor(defs.get(name, {}).get('title', name))})"
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " | ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    for key in ("anyOf", "oneOf"):
        if key in node:
            return " | ".join(_type(n, defs) for n in node[key])
    kind = node.get("type")
    if kind == "array":
        items = node.get("prefixItems") or [node.get("items", {})]
        return "list of " + ", ".join(_type(i, defs) for i in items)
    if kind == "object" and node.get("title") and "properties" in node:
        return f"[{node['title']}](#{_anchor(node['title'])})"
    if kind == "object":
        extra = node.get("additionalProperties")
        return "mapping" + (f" of {_type(extra, defs)}" if isinstance(extra, dict) else "")
    bounds = [f"{sym} {node[k]}" for k, sym in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
                                              ("exclusiveMaximum", "<")) if k in node]
    return (kind or "any") + (f" ({', '.join(bounds)})" if bounds else "")


def _anchor(title: str) -> str:
    return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c == "-")


def _objects(node, defs: dict, out: dict) -> None:
    """Every titled object schema under ``node`` (inline or in ``$defs``), by title, first seen first."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            target = defs.get(name, {})
            title = target.get("title", name)
            if title not in out:
                out[title] = target
                _objects(target, defs, out)
            return
        if node.get("type") == "object" and "properties" in node and node.get("title") and node["title"] not in out:
            out[node["title"]] = node
        for value in node.values():
            _objects(value, defs, out)
    elif isinstance(node, list):
        for value in node:
            _objects(value, defs, out)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(node: dict, defs: dict) -> list[str]:
    required = set(node.get("required", ()))
    lines = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for name, prop in node.get("properties", {}).items():
        default = "required" if name in required else (f"`{json.dumps(prop['default'])}`" if "default" in prop else "")
        lines.append(f"| `{name}` | {_cell(_type(prop, defs))} | {_cell(default)} | {_cell(prop.get('description', ''))} |")
    return lines


def reference_markdown() -> str:
    lines = ["# Config reference", "",
             "Generated from the pydantic models that validate each file (`evo schema --reference`; a test fails "
             "when this page is stale). Unknown keys are errors everywhere. `evo schema KIND` prints the JSON "
             "Schema for editor completion. Relative paths in a suite file (`examples_file`, check `ref`s) are "
             "relative to the suite file; in a run or experiment config, to the working directory.", ""]
    seen: set[str] = set()  # a section appears once; later mentions link to it
    for kind in KINDS:
        schema = json_schema(kind)
        defs = schema.get("$defs", {})
        title, intro = TITLES[kind]
        lines += [f"## {title}", "", intro, ""]
        objects: dict = {}
        if "properties" in schema:
            lines += _table(schema, defs) + [""]
            _objects({k: v for k, v in schema.items() if k != "$defs"}, defs, objects)
        else:
            _objects(schema, defs, objects)
        objects.pop(schema.get("title"), None)
        for name, node in objects.items():
            if name in seen:
                continue
            seen.add(name)
            lines += [f"### {name}", ""]
            if node.get("description"):
                lines += [_cell(node["description"]), ""]
            lines += _table(node, defs) + [""]
    return "\n".join(lines).rstrip() + "\n"
