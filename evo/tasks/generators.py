"""Built-in suites generated in code: the same examples on every machine, with no download.

Two tasks in the style of BIG-bench Hard (Suzgun et al. 2022), whose archive the package index no
longer serves (``evo.tasks.bigbench``), regenerated from a seed instead of fetched:

- ``count_objects``: "I have a plum, two cats and a violin. How many fruits do I have?" (items of
  five categories, some of them distractors; quantities one to three in words); the answer is a number.
- ``boolean_expressions``: "not ( True and False ) or False is" (``not`` / ``and`` / ``or`` with
  Python's precedence, parentheses, 3-5 literals); the answer is ``True`` or ``False``, balanced.

``python -m evo.tasks.generators`` rewrites ``evo/suites/<name>.jsonl`` from ``generate(name)``; a test
checks that the committed files are exactly what the generator makes, so the suites are reproducible
from this file alone. The examples are new, not BIG-bench's: results on them are not comparable with
published BIG-bench numbers.
"""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import numpy as np

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
EXAMPLES = 120  # 40 train / 40 val / 40 test

CATEGORIES = {
    "fruits": ["apple", "banana", "blackberry", "grape", "nectarine", "orange", "peach", "plum", "raspberry",
               "strawberry"],
    "vegetables": ["cabbage", "carrot", "cauliflower", "turnip", "onion", "potato", "yam", "head of broccoli",
                   "stalk of celery"],
    "musical instruments": ["accordion", "clarinet", "drum", "flute", "piano", "trombone", "trumpet", "violin"],
    "animals": ["bear", "cat", "chicken", "cow", "dog", "donkey", "duck", "fish", "frog", "goat", "mouse", "pig",
                "rabbit", "snail", "snake"],
    "objects": ["bed", "car", "chair", "couch", "fridge", "lamp", "microwave", "oven", "stove", "table", "toaster"],
}
_IRREGULAR = {"mouse": "mice", "fish": "fish", "peach": "peaches", "couch": "couches", "potato": "potatoes",
              "head of broccoli": "heads of broccoli", "stalk of celery": "stalks of celery"}
_WORDS = {2: "two", 3: "three", 4: "four"}


def _plural(item: str) -> str:
    if item in _IRREGULAR:
        return _IRREGULAR[item]
    if item.endswith("y") and item[-2] not in "aeiou":
        return item[:-1] + "ies"
    return item + "s"


def _phrase(item: str, count: int) -> str:
    if count == 1:
        return ("an " if item[0] in "aeiou" else "a ") + item
    return f"{_WORDS[count]} {_plural(item)}"


def _listing(phrases: list[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + ", and " + phrases[-1] if len(phrases) > 2 else " and ".join(phrases)


def object_counting(n: int = EXAMPLES, seed: int = 0) -> list[dict]:
    """``n`` counting questions: 1-4 kinds of the asked category (one to three of each) mixed with 0-2
    distractor items of other categories, in a random order (sized so that the embedded 135M model
    is not at chance: the benchmark needs room to optimize)."""
    rng = np.random.default_rng([seed, 1])
    names = list(CATEGORIES)
    out = []
    while len(out) < n:
        category = names[int(rng.integers(len(names)))]
        kinds = rng.choice(CATEGORIES[category], size=int(rng.integers(1, 5)), replace=False).tolist()
        counts = [int(c) for c in rng.choice([1, 1, 1, 2, 3], size=len(kinds))]
        others = [i for c in names if c != category for i in CATEGORIES[c]]
        distractors = rng.choice(others, size=int(rng.integers(0, 3)), replace=False).tolist()
        items = [(k, c) for k, c in zip(kinds, counts)] + [(d, 1) for d in distractors]
        order = rng.permutation(len(items))
        sentence = _listing([_phrase(*items[i]) for i in order])
        out.append({"id": f"count-{len(out):03d}", "input": {"question": f"I have {sentence}. How many {category} do I have?"},
                    "expected": str(sum(counts))})
    return out


def _expression(rng: np.random.Generator, literals: int) -> str:
    if literals == 1:
        text = "True" if rng.random() < 0.5 else "False"
        return ("not " + text) if rng.random() < 0.25 else text
    left = int(rng.integers(1, literals))
    op = "and" if rng.random() < 0.5 else "or"
    a, b = _expression(rng, left), _expression(rng, literals - left)
    if rng.random() < 0.35:
        a = f"( {a} )"
    if rng.random() < 0.35:
        b = f"( {b} )"
    text = f"{a} {op} {b}"
    return f"not ( {text} )" if rng.random() < 0.2 else text


def evaluate_boolean(text: str) -> bool:
    """The value of a generated expression (``True``/``False``/``not``/``and``/``or``/parentheses only),
    read with Python's grammar but without ``eval``."""
    def value(node) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not value(node.operand)
        if isinstance(node, ast.BoolOp):
            values = [value(v) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        raise ValueError(f"not a boolean expression: {text!r}")
    return value(ast.parse(text, mode="eval").body)


def boolean_expressions(n: int = EXAMPLES, seed: int = 0) -> list[dict]:
    """``n`` expressions of 3-5 literals, half of them true."""
    rng = np.random.default_rng([seed, 2])
    out, want = [], {True: n // 2, False: n - n // 2}
    seen = set()
    while len(out) < n:
        text = _expression(rng, int(rng.integers(3, 6)))
        truth = evaluate_boolean(text)
        if want[truth] == 0 or text in seen:
            continue
        seen.add(text)
        want[truth] -= 1
        out.append({"id": f"bool-{len(out):03d}", "input": {"expression": f"{text} is"}, "expected": str(truth)})
    return out


GENERATORS = {"count_objects": object_counting, "boolean_expressions": boolean_expressions}


def render(name: str) -> str:
    """The JSONL text of generated suite ``name`` (what ``evo/suites/<name>.jsonl`` holds)."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in GENERATORS[name]())


def main(argv: list[str]) -> int:
    for name in argv or list(GENERATORS):
        path = SUITES_DIR / f"{name}.jsonl"
        path.write_text(render(name), encoding="utf-8")
        print(f"wrote {path} ({len(GENERATORS[name]())} examples)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
