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

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path

from evo.errors import ConfigError
from evo.paths import child_path, slug
from evo.redact import redact

RUN_SCHEMA_VERSION = 2  # 2: charged keys carry the perturbed flag; the loop's history
RUN_FILES = ("config.json", "steps.jsonl", "checkpoint.json", "result.json", "best_genome.json",
             "strategy_report.json")


def read_steps_file(path: Path) -> list[dict]:
    """The step records of ``steps.jsonl``. A torn last line (a kill mid-write) is dropped: the checkpoint,
    written after the line, decides how many steps count. A bad line before the last is a ``ConfigError``."""
    if not path.exists():
        return []
    lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    steps = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            if number == len(lines):
                break
            raise ConfigError(path, f"corrupt step record: {exc}", f"line {number}") from None
        steps.append(record)
    return steps


def write_json(path: Path, data) -> None:
    """``data`` as JSON at ``path``, atomically, with secrets redacted (``evo.redact``)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(redact(json.dumps(data, indent=2, default=str)), encoding="utf-8")
    os.replace(tmp, path)


def new_run_dir(root: Path, suite: str, strategy: str) -> Path:
    """A fresh directory ``root/<suite>_<strategy>_<time>`` (names slugged: a name is not a path)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{slug(suite)}_{slug(strategy)}_{stamp}"
    path = child_path(root, base)
    n = 1
    while path.exists():
        n += 1
        path = child_path(root, f"{base}-{n}")
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

    @contextlib.contextmanager
    def owned(self):
        """Hold the run directory's exclusive lock (``.lock``, ``fcntl.flock``) for the block: two processes
        optimizing or resuming into one directory would interleave steps. A held lock is a one-line
        ``ConfigError`` naming the holder's pid. The kernel drops the lock when the holder dies (kill -9
        included), so a crash never leaves the directory locked."""
        path = self.path / ".lock"
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed in finally
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "?"
                raise ConfigError(self.path, f"another evo process (pid {holder}) is using this run directory; "
                                  "wait for it to finish or stop it") from None
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            yield self
        finally:
            fh.close()  # releases the lock

    def refuse_reuse(self, force: bool = False) -> None:
        """A fresh run must not write over another run or into someone's folder: a directory that already
        holds a run (``config.json``), or files that are not a run's, is a one-line ``ConfigError`` unless
        ``force`` (then its run files are removed; other files stay)."""
        if not (self.path / "config.json").exists():
            foreign = sorted(p.name for p in self.path.iterdir() if p.name not in (*RUN_FILES, ".lock")) \
                if self.path.is_dir() else []
            if foreign and not force:
                raise ConfigError(self.path, f"the directory holds files that are not a run's ({', '.join(foreign[:3])}"
                                  f"{', ...' if len(foreign) > 3 else ''}); choose an empty or new run directory, "
                                  "or pass --force to write the run there anyway")
            for name in RUN_FILES if force else ():
                with contextlib.suppress(FileNotFoundError):
                    (self.path / name).unlink()
            return
        state = "a finished run" if (self.path / "result.json").exists() else "an unfinished run"
        if not force:
            hint = "" if state == "a finished run" else "; `evo resume` continues it"
            raise ConfigError(self.path, f"the directory already holds {state}{hint}; choose another run "
                              "directory or pass --force to overwrite it")
        for name in RUN_FILES:
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).unlink()

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
            fh.write(redact(json.dumps(record, default=str)) + "\n")

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
