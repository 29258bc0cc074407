"""A run directory: the JSON record of one optimization run.

Files (all JSON, each with ``schema_version`` where it is state):
- ``config.json``: the resolved config exactly as run (``resolved``, a valid run config that
  reproduces the run), its sha256, the seed genome, the tracker run;
- ``steps.jsonl``: one line per step, appended as the run goes;
- ``checkpoint.json``: strategy state + budget + charged evaluation keys after every step (written
  atomically: a kill leaves the previous checkpoint intact);
- ``result.json``: the final summary (before -> after on train/val/test, budget, stop reason);
- ``best_genome.json`` and ``strategy_report.json`` (``Strategy.report()``: iterations, generations,
  population, Pareto front).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from evo.errors import ConfigError

RUN_SCHEMA_VERSION = 2  # 2: charged keys carry the perturbed flag; the loop's history


def write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def new_run_dir(root: Path, suite: str, strategy: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = root / f"{suite}_{strategy}_{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = root / f"{suite}_{strategy}_{stamp}-{n}"
    path.mkdir(parents=True)
    return path


class RunDir:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(self.path, f"cannot create the run directory: {exc.strerror or exc}") from None

    @classmethod
    def existing(cls, path: Path) -> "RunDir":
        """A run directory that must already exist (``evo resume``)."""
        path = Path(path)
        if not path.is_dir():
            raise ConfigError(path, "no such run directory")
        if not (path / "config.json").is_file():
            raise ConfigError(path, "not a run directory: config.json is missing")
        return cls(path)

    def read_json(self, name: str) -> dict:
        """A JSON file of the run; a missing or corrupt file is a one-line ``ConfigError``."""
        path = self.path / name
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(path, f"cannot read: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(path, f"corrupt JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(path, "corrupt: expected a JSON object")
        return data

    def write_config(self, config: dict) -> None:
        write_json(self.path / "config.json", {"schema_version": RUN_SCHEMA_VERSION, **config})

    def append_step(self, record: dict) -> None:
        with open(self.path / "steps.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=str) + "\n")

    def write_checkpoint(self, strategy, budget, charged_keys, steps_done: int, history: dict | None = None) -> None:
        write_json(self.path / "checkpoint.json", {
            "schema_version": RUN_SCHEMA_VERSION, "steps_done": steps_done, "strategy": strategy.state_dict(),
            "budget": budget.state_dict(), "charged_keys": sorted(list(k) for k in charged_keys),
            "history": history or {},
        })

    def write_result(self, result) -> None:
        write_json(self.path / "result.json", {"schema_version": RUN_SCHEMA_VERSION, **result.to_json()})
        write_json(self.path / "best_genome.json", result.best_genome.to_json())
        write_json(self.path / "strategy_report.json", result.strategy_report)
