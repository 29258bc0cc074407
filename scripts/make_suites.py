"""Regenerate the built-in suites' JSONL files (deterministic: fixed seeds).

Run: .venv/bin/python scripts/make_suites.py
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "evo" / "suites"
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
DAYS_IN = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def write(name: str, rows: list[dict]) -> None:
    path = OUT / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{path}: {len(rows)} examples")


def arithmetic(rng: np.random.Generator) -> None:
    ops = {"addition": "+", "subtraction": "-", "multiplication": "*"}
    for task, op in ops.items():
        seen, rows = set(), []
        while len(rows) < 30:
            a, b = (int(x) for x in rng.integers(0, 10, size=2))
            if op == "-" and b > a:
                a, b = b, a
            if (a, b) in seen:
                continue
            seen.add((a, b))
            value = a + b if op == "+" else a - b if op == "-" else a * b
            rows.append({"id": f"{task[:3]}-{a}{op}{b}", "input": {"expression": f"{a} {op} {b}"}, "expected": str(value)})
        write(f"arithmetic_{task}", rows)


def dates(rng: np.random.Generator) -> None:
    formats = [
        lambda y, m, d: f"{MONTHS[m - 1]} {d}, {y}",
        lambda y, m, d: f"{d} {MONTHS[m - 1]} {y}",
        lambda y, m, d: f"{MONTHS[m - 1][:3]} {d}, {y}",
        lambda y, m, d: f"the {d}{_suffix(d)} of {MONTHS[m - 1]}, {y}",
    ]
    rows = []
    for i in range(72):
        y = int(rng.integers(1950, 2031))
        m = int(rng.integers(1, 13))
        d = int(rng.integers(1, DAYS_IN[m - 1] + 1))
        text = formats[i % len(formats)](y, m, d)
        rows.append({"id": f"date-{i:02d}", "input": {"date": text}, "expected": f"{y:04d}-{m:02d}-{d:02d}"})
    write("dates", rows)


def _suffix(d: int) -> str:
    return "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def numbers(rng: np.random.Generator) -> None:
    templates = [
        "The store sold {n} apples on Tuesday.",
        "Our team walked {n} kilometers during the trip.",
        "There were {n} people waiting at the station.",
        "The library received {n} new books this month.",
        "She paid {n} dollars for the old bicycle.",
        "The farm has {n} sheep in the north field.",
        "About {n} students signed up for the course.",
        "The bridge is {n} meters long.",
        "He counted {n} birds on the lake this morning.",
        "The factory produced {n} chairs last week.",
        "Exactly {n} tickets were sold for the concert.",
        "The recipe needs {n} grams of flour.",
    ]
    rows = []
    for i in range(72):
        n = int(rng.integers(2, 1000))
        rows.append({"id": f"num-{i:02d}", "input": {"sentence": templates[i % len(templates)].format(n=n)},
                     "expected": str(n)})
    write("numbers", rows)


if __name__ == "__main__":
    arithmetic(np.random.default_rng(1))
    dates(np.random.default_rng(2))
    numbers(np.random.default_rng(3))
