"""``make fuzz``: run the fuzzers in ``tests/fuzz/`` with the long profile, over and over with fresh
seeds, for a time budget (``--minutes``, default 10); then print how many examples each fuzzer tried.

Exit 1 at the first failing run (its output is printed, including Hypothesis's reproduction blob).
Counts come from ``--hypothesis-show-statistics`` ("N passing, M failing, and K invalid test cases").
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import re
import subprocess
import sys
import time

STAT = re.compile(r"^(tests/fuzz/\S+::\S+?)(?:\[(.+)\])?:\s*$")
COUNTS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid")


def parse_statistics(text: str) -> dict[str, tuple[int, int, int]]:
    """``{test id: (passing, failing, invalid)}`` from pytest's Hypothesis statistics section."""
    out: dict[str, list[int]] = {}
    current = None
    for line in text.splitlines():
        m = STAT.match(line.strip())
        if m:
            current = m.group(1).split("::")[-1] + (f"[{m.group(2)}]" if m.group(2) else "")
            out.setdefault(current, [0, 0, 0])
            continue
        m = COUNTS.search(line)
        if m and current:
            for i in range(3):
                out[current][i] += int(m.group(i + 1))
    return {k: tuple(v) for k, v in out.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("FUZZ_MINUTES", 10)))
    parser.add_argument("--examples", type=int, default=200, help="examples per fuzzer per run")
    parser.add_argument("--seed", type=int, default=None, help="first run's seed (default: random)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.minutes * 60
    totals: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    runs = 0
    start = time.monotonic()
    while time.monotonic() < deadline:
        seed = rng.randrange(2**32)
        env = {**os.environ, "EVO_FUZZ_PROFILE": "fuzz", "EVO_FUZZ_EXAMPLES": str(args.examples)}
        left = max(60, int(deadline - time.monotonic()) + 600)  # a hang is caught by the tests' own guards
        proc = subprocess.run([sys.executable, "-m", "pytest", "tests/fuzz", "-q", "-p", "no:cacheprovider",
                               f"--hypothesis-seed={seed}", "--hypothesis-show-statistics"],
                              env=env, capture_output=True, text=True, timeout=left)
        runs += 1
        stats = parse_statistics(proc.stdout)
        for name, counts in stats.items():
            for i in range(3):
                totals[name][i] += counts[i]
        if proc.returncode != 0 or any(c[1] for c in stats.values()):
            failures = proc.stdout.split("= FAILURES =", 1)[-1].split("Hypothesis Statistics", 1)[0]
            print(failures[-30000:], proc.stderr[-5000:], sep="\n")
            print(f"fuzz: run {runs} (seed {seed}) FAILED after {time.monotonic() - start:.0f} s")
            return 1
        print(f"fuzz: run {runs} (seed {seed}) ok · {time.monotonic() - start:.0f} s", flush=True)
    print(f"\nfuzz: {runs} runs in {(time.monotonic() - start) / 60:.1f} min, 0 failures")
    print(f"{'fuzzer':60s} {'passing':>8s} {'invalid':>8s}")
    for name in sorted(totals):
        passing, _, invalid = totals[name]
        print(f"{name:60s} {passing:8d} {invalid:8d}")
    print(f"{'total':60s} {sum(t[0] for t in totals.values()):8d} {sum(t[2] for t in totals.values()):8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
