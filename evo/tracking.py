"""Experiment tracking behind a small protocol; ``MlflowTracker`` is the only module importing mlflow.

Runs are addressed by id. ``start_run(name, parent_id=None, tags)`` opens a run (a child when
``parent_id`` is given); ``log_metrics(run_id, metrics, step)`` batches a step's metrics into one call;
``last_step(run_id, key)`` lets a resumed run skip steps already logged (no duplicates).
Values logged are numbers and strings from configs and results; environment variables (API keys) are
never read here.
"""
from __future__ import annotations

import json
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, Protocol

from pydantic import Field

from evo.redact import redact, redact_obj
from evo.registry import Entry, Registry
from evo.config_base import StrictConfig


@contextmanager
def run_outcome(tracker, run_id: str | None, *, finish: bool = True):
    """The one place a tracker run's end status is decided: KILLED when interrupted (Ctrl-C, SIGTERM),
    FAILED on any other exception (re-raised), FINISHED on success when ``finish`` (else the caller
    ends it after its final logging). No tracker or no run id: nothing is recorded."""
    live = tracker is not None and bool(run_id)
    try:
        yield
    except KeyboardInterrupt:
        if live:
            end_after_interrupt(tracker, run_id, "KILLED")
        raise
    except BaseException:
        if live:
            end_after_interrupt(tracker, run_id, "FAILED")
        raise
    if live and finish:
        tracker.end_run(run_id, "FINISHED")


END_RETRY_WAITS = (0.1, 0.3, 0.6, 1.0, 2.0, 3.0)  # seconds between attempts (7 s in all)


def end_after_interrupt(tracker, run_id: str, status: str) -> None:
    """``end_run`` on the way out of an interrupted or failed run. The interruption may have landed in
    the middle of a tracker write, whose lock (MLflow's sqlite) is released only once that write has
    unwound: retry with backoff; if it never succeeds, log it and let the original exception go on
    (the run directory's checkpoint is the record that matters)."""
    for wait in (*END_RETRY_WAITS, None):
        try:
            tracker.end_run(run_id, status)
            return
        except Exception as exc:  # noqa: BLE001 - never replace the interruption with a tracker error
            if wait is None:
                import logging

                logging.getLogger(__name__).warning("could not mark the tracker run %s %s: %s", run_id, status,
                                                    redact(" ".join(str(exc).split()))[:200])
                return
            time.sleep(wait)


class Tracker(Protocol):
    def start_run(self, name: str, parent_id: str | None = None, tags: dict | None = None) -> str: ...
    def log_params(self, run_id: str, params: dict) -> None: ...
    def set_tags(self, run_id: str, tags: dict) -> None: ...
    def log_metrics(self, run_id: str, metrics: dict, step: int) -> None: ...
    def log_dict(self, run_id: str, data, artifact_file: str) -> None: ...
    def log_file(self, run_id: str, path: Path, artifact_dir: str | None = None) -> None: ...
    def last_step(self, run_id: str, key: str) -> int: ...
    def end_run(self, run_id: str, status: str = "FINISHED") -> None: ...
    def info(self) -> dict | None: ...
    def register_prompt(self, name: str, messages: list[dict], model_config: dict, tags: dict) -> str | None: ...


def numeric_metrics(record: dict, prefix: str = "") -> dict:
    """The finite numeric (and bool) fields of a record, as floats."""
    out = {}
    for k, v in record.items():
        if isinstance(v, bool):
            out[prefix + k] = float(v)
        elif isinstance(v, (int, float)) and math.isfinite(v):
            out[prefix + k] = float(v)
    return out


class InMemoryTracker:
    """Keeps everything in dicts; for tests and for runs with tracking off."""

    def __init__(self):
        self.runs: dict[str, dict] = {}
        self.prompts: dict[str, list[dict]] = {}

    def info(self) -> dict | None:
        return None

    def describe_experiment(self, text: str) -> None:
        self.description = text

    def start_run(self, name, parent_id=None, tags=None):
        run_id = f"run{len(self.runs)}"
        self.runs[run_id] = {"name": name, "parent": parent_id, "tags": dict(tags or {}), "params": {},
                             "metrics": {}, "artifacts": {}, "status": "RUNNING"}
        return run_id

    def log_params(self, run_id, params):
        self.runs[run_id]["params"].update({k: str(v) for k, v in params.items()})

    def set_tags(self, run_id, tags):
        self.runs[run_id]["tags"].update({k: str(v) for k, v in tags.items()})

    def log_metrics(self, run_id, metrics, step):
        for k, v in metrics.items():
            self.runs[run_id]["metrics"].setdefault(k, []).append((step, v))

    def log_dict(self, run_id, data, artifact_file):
        self.runs[run_id]["artifacts"][artifact_file] = json.dumps(data, default=str)

    def log_file(self, run_id, path, artifact_dir=None):
        name = f"{artifact_dir}/{Path(path).name}" if artifact_dir else Path(path).name
        self.runs[run_id]["artifacts"][name] = Path(path).read_bytes()

    def last_step(self, run_id, key):
        history = self.runs[run_id]["metrics"].get(key, [])
        return max((s for s, _ in history), default=-1)

    def end_run(self, run_id, status="FINISHED"):
        self.runs[run_id]["status"] = status

    def register_prompt(self, name, messages, model_config, tags):
        versions = self.prompts.setdefault(name, [])
        versions.append({"messages": messages, "model_config": model_config, "tags": {k: str(v) for k, v in tags.items()}})
        return f"{name}/{len(versions)}"


def prompt_name(*parts: str) -> str:
    """A prompt-registry name from parts: characters outside ``[A-Za-z0-9_.-]`` become ``-``."""
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "-", ".".join(p for p in parts if p)).strip("-.") or "prompt"


def default_tracking_uri(output_dir: str | Path, env=None) -> str:
    """``$MLFLOW_TRACKING_URI`` (from ``env``, default ``os.environ``) or an absolute sqlite URI under
    ``output_dir`` (four slashes)."""
    uri = (os.environ if env is None else env).get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    path = (Path(output_dir) / "mlflow.db").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


# MLflow 3 opens an experiment without this tag on its GenAI page (traces), empty for our runs; this
# kind opens the runs table, where strategies are compared.
EXPERIMENT_KIND_TAG, EXPERIMENT_KIND = "mlflow.experimentKind", "custom_model_development"


class MlflowTracker:
    def __init__(self, uri: str, experiment: str, artifact_root: Path | None = None):
        import logging

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        from evo.extras import require

        require("mlflow", "MLflow tracking (or --no-mlflow, or tracking: {kind: none})")
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient

        self._Metric, self._Param, self._RunTag = Metric, Param, RunTag
        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri)
        exp = self.client.get_experiment_by_name(experiment)
        if exp is None:
            # a local store keeps artifacts beside it; a tracking server decides (it serves or proxies
            # them to every process and node), so no local path is pinned into its experiments
            served = uri.startswith(("http://", "https://", "databricks"))
            location = artifact_root.resolve().as_uri() if artifact_root and not served else None
            try:
                self.experiment_id = self.client.create_experiment(experiment, artifact_location=location,
                                                                   tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
            except Exception:  # another process created it at the same moment: use theirs
                exp = self.client.get_experiment_by_name(experiment)
                if exp is None:
                    raise
                self.experiment_id = exp.experiment_id
        else:
            self.experiment_id = exp.experiment_id
        if exp is not None and exp.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            self.client.set_experiment_tag(self.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        self.experiment = experiment

    def describe_experiment(self, text: str) -> None:
        """The experiment's description in the MLflow UI (its note)."""
        if text:
            self.client.set_experiment_tag(self.experiment_id, "mlflow.note.content", redact(text))

    def info(self) -> dict | None:
        """Enough to reopen this tracker (``evo resume``)."""
        return {"uri": self.uri, "experiment": self.experiment}

    def start_run(self, name, parent_id=None, tags=None):
        tags = {k: redact(str(v)) for k, v in (tags or {}).items()}
        if parent_id:
            tags["mlflow.parentRunId"] = parent_id
        return self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id

    def log_params(self, run_id, params):
        items = [self._Param(k, redact(str(v))[:6000]) for k, v in params.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[i:i + 100])

    def set_tags(self, run_id, tags):
        self.client.log_batch(run_id, tags=[self._RunTag(k, redact(str(v))) for k, v in tags.items()])

    def log_metrics(self, run_id, metrics, step):
        ts = int(time.time() * 1000)
        items = [self._Metric(k, float(v), ts, int(step)) for k, v in metrics.items()]
        for i in range(0, len(items), 1000):
            self.client.log_batch(run_id, metrics=items[i:i + 1000])

    def log_dict(self, run_id, data, artifact_file):
        self.client.log_dict(run_id, redact_obj(json.loads(json.dumps(data, default=str))), artifact_file)

    def log_file(self, run_id, path, artifact_dir=None):
        self.client.log_artifact(run_id, str(path), artifact_dir)

    def last_step(self, run_id, key):
        history = self.client.get_metric_history(run_id, key)
        return max((m.step for m in history), default=-1)

    def end_run(self, run_id, status="FINISHED"):
        self.client.set_terminated(run_id, status)

    def register_prompt(self, name, messages, model_config, tags):
        """A new version of prompt ``<experiment>.<name>`` in MLflow's prompt registry; returns
        ``name/version``. Values of ``tags`` are stored as text."""
        full = prompt_name(self.experiment, name)
        version = self.client.register_prompt(
            full, messages, commit_message=str(tags.get("commit_message", "")) or None,
            tags={k: redact(str(v))[:5000] for k, v in tags.items() if k != "commit_message"},
            model_config={k: v for k, v in model_config.items() if v not in (None, "")} or None)
        return f"{full}/{version.version}"


# the settings every run logs as MLflow params (when present); the full resolved config is an artifact
# (``config/resolved_config.json``) and its hash the ``config_sha256`` tag
CORE_PARAMS = ("suite", "strategy.kind", "seed", "budget.max_calls", "budget.max_usd", "task_model.kind",
               "task_model.model", "optimizer.kind", "optimizer.model", "evaluator.kind")


def run_params(flat: dict, varying: tuple | list | set = ()) -> dict:
    """The params of a run: ``CORE_PARAMS`` and the ``varying`` keys (settings that differ between the
    runs compared, e.g. an ablated option) of its flat config; never the cache file (a tag: it differs
    per strategy and would light up every comparison view)."""
    keys = [k for k in (*CORE_PARAMS, *sorted(varying)) if k in flat and k != "cache"]
    return {k: flat[k] for k in dict.fromkeys(keys)}


def varying_keys(flats: list[dict]) -> set[str]:
    """Keys present in every flat config of ``flats`` whose values are not all equal (seed excluded
    from nothing: it is a core param anyway)."""
    if len(flats) < 2:
        return set()
    common = set(flats[0]).intersection(*flats[1:])
    return {k for k in common if k != "cache" and len({json.dumps(f[k], sort_keys=True, default=str) for f in flats}) > 1}


def flat_params(data: dict, prefix: str = "") -> dict:
    """A nested config as flat ``a.b.c -> value`` params (lists and scalars as text)."""
    out = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flat_params(value, name + "."))
        else:
            out[name] = json.dumps(value) if isinstance(value, (list, tuple, dict)) else value
    return out


class MlflowConfig(StrictConfig):
    kind: Literal["mlflow"] = "mlflow"
    uri: str | None = Field(None, description="tracking URI; default $MLFLOW_TRACKING_URI or sqlite under output_dir")
    experiment: str | None = Field(None, description="MLflow experiment name; default: the config's name")


class NoTrackingConfig(StrictConfig):
    kind: Literal["none"]


def _mlflow(cfg, output_dir, default_name):
    uri = cfg.uri or default_tracking_uri(output_dir)
    return MlflowTracker(uri, cfg.experiment or default_name, Path(output_dir) / "mlartifacts")


# Adding a tracker = its class + one line here.
TRACKERS = Registry("trackers", {
    "mlflow": Entry(MlflowConfig, _mlflow),
    "none": Entry(NoTrackingConfig, lambda cfg, output_dir, default_name: InMemoryTracker()),
})

TrackingConfig = TRACKERS.config_type


def build_tracker(cfg, output_dir: str | Path, default_name: str):
    """The tracker for ``cfg``; its ``info()`` (URI and experiment, or None) is recorded in run dirs."""
    return TRACKERS[cfg.kind].build(cfg, output_dir, default_name)


def reopen_tracker(info: dict, output_dir: str | Path = "results"):
    """The tracker a run recorded (its ``info()``: URI and experiment), built by ``build_tracker``."""
    return build_tracker(MlflowConfig(uri=info["uri"], experiment=info["experiment"]), output_dir, info["experiment"])
