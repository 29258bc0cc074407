"""Input templates: ``"Question: {question}"`` and nothing more.

A template may name input fields in braces (``{field}``, a Python identifier) and write literal braces
as ``{{`` / ``}}``. Everything else ``str.format`` would do is refused at load time: attribute access
(``{a.__class__}``), indexing (``{a[0]}``), conversions (``{a!r}``) and format specs (``{a:>100000000}``)
would put introspection, memory addresses or unbounded padding into a prompt. Rendering never calls
``str.format``: each field is replaced by ``str(value)``, so a template that slipped past validation
still cannot do more than substitute.
"""
from __future__ import annotations

import string
from functools import lru_cache
from typing import Any, Mapping


@lru_cache(maxsize=1024)
def parse_template(template: str) -> tuple[tuple[str, str | None], ...]:
    """``(literal, field or None)`` pieces of ``template``; ``ValueError`` with a one-line reason for
    anything but plain ``{field}`` placeholders."""
    try:
        pieces = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"not a valid template ({exc}); write a literal brace as {{{{ or }}}}") from None
    out = []
    for literal, name, spec, conversion in pieces:
        if name is None:
            out.append((literal, None))
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if not name.strip():
            raise ValueError("empty field name '{}' in the template; name the input field, e.g. {question}")
        if not name.isidentifier():
            raise ValueError(f"{shown} in the template: only plain field names like {{question}} are allowed "
                             "(no attribute access, indexing or positional fields)")
        if conversion or spec:
            raise ValueError(f"{shown} in the template: conversions and format specs are not allowed; "
                             f"write {{{name}}}")
        out.append((literal, name))
    return tuple(out)


def template_fields(template: str) -> set[str]:
    """The field names ``template`` uses (``ValueError`` if it is not a valid template)."""
    return {name for _, name in parse_template(template) if name}


def render_template(template: str, inputs: Mapping[str, Any]) -> str:
    """``template`` with each ``{field}`` replaced by ``str(inputs[field])``; ``KeyError`` for a
    missing field, ``ValueError`` for an invalid template."""
    parts = []
    for literal, name in parse_template(template):
        parts.append(literal)
        if name is not None:
            parts.append(str(inputs[name]))
    return "".join(parts)
