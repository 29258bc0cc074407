"""Fitness evaluation on Ray (the only module importing ray).

``RayEvaluatorPool`` starts (``address: local``) or joins (``auto`` / ``ray://…``) a cluster and
creates ``num_workers`` actors; each builds its task-model backend once (the local GGUF model is
loaded once per actor, with ``n_threads = n_threads_batch = threads_per_worker``) behind the shared
SQLite response cache. ``pool.evaluator(suite, seed)`` returns an object with the ``Evaluator``
interface: examples are split into contiguous chunks (one per actor, so one prompt's examples run
back to back on each model), records come back in input order, and per-example failures are records.
If Ray is configured and cannot start, ``ConfigError`` says so: there is no silent fallback.
"""
from __future__ import annotations

import os
import time

import ray

from evo.errors import ConfigError
from evo.evaluation.evaluator import Evaluator
from evo.evaluation.records import EvalBatch
from evo.genome import PromptGenome


@ray.remote
class EvalWorker:
    def __init__(self, backend_cfg: dict, cache_path: str | None, threads: int):
        from evo.llm.cache import CachedBackend, ResponseCache
        from evo.llm.config import build_backend, parse_backend_config

        if backend_cfg.get("kind", "local") == "local":
            backend_cfg = {**backend_cfg, "n_threads": backend_cfg.get("n_threads") or threads,
                           "n_threads_batch": backend_cfg.get("n_threads_batch") or threads}
        self.raw = build_backend(parse_backend_config(backend_cfg, "task_model"))
        self.cached: dict = {None: self.raw}
        self.default_cache = cache_path
        self.threads = threads
        self._wrap = lambda path: CachedBackend(self.raw, ResponseCache(path))

    def backend(self, cache_path: str | None):
        """The model behind the run's cache (opened once per path in this actor)."""
        if cache_path not in self.cached:
            self.cached[cache_path] = self._wrap(cache_path)
        return self.cached[cache_path]

    def evaluate(self, suite, genome_json: dict, examples: list, samples: int, seed: int,
                 cache_path: str | None = None) -> list:
        genome = PromptGenome.from_json(genome_json)
        evaluator = Evaluator(self.backend(cache_path), suite, workers=self.threads, seed=seed)
        try:
            return list(evaluator.evaluate(genome, examples, samples=samples).records)
        finally:
            evaluator.close()

    def pid(self) -> int:
        return os.getpid()


class RayEvaluatorPool:
    def __init__(self, cfg, backend_cfg, cache_path=None):
        self.cfg = cfg
        self.cache_path = str(cache_path) if cache_path else None
        self.started_ray = False
        if not ray.is_initialized():
            try:
                if cfg.address == "local":
                    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
                    ray.init(num_cpus=cfg.num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
                             log_to_driver=False, configure_logging=False)
                else:
                    ray.init(address=cfg.address, log_to_driver=False, configure_logging=False)
            except Exception as exc:  # any failure to start or join is a configuration problem
                raise ConfigError("evaluator.address", f"Ray could not start at {cfg.address!r}: "
                                  f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
            self.started_ray = True
        cfg_dict = backend_cfg.model_dump(mode="json")
        self.actors = [EvalWorker.options(num_cpus=0.01 if backend_cfg.kind != "local" else min(1, cfg.threads_per_worker))
                       .remote(cfg_dict, str(cache_path) if cache_path else None, cfg.threads_per_worker)
                       for _ in range(cfg.num_workers)]
        self._suite_refs: dict[int, object] = {}
        self.actor_pids = ray.get([a.pid.remote() for a in self.actors])

    def suite_ref(self, suite):
        key = id(suite)
        if key not in self._suite_refs:
            self._suite_refs[key] = (suite, ray.put(suite))
        return self._suite_refs[key][1]

    def evaluator(self, suite, seed: int = 0, cache_path: str | None = None) -> "RayEvaluator":
        return RayEvaluator(self, suite, seed, cache_path if cache_path is not None else self.cache_path)

    def close(self) -> None:
        self.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def shutdown(self) -> None:
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
        if self.started_ray:
            ray.shutdown()


class RayEvaluator:
    """The ``Evaluator`` interface over a ``RayEvaluatorPool``."""

    def __init__(self, pool: RayEvaluatorPool, suite, seed: int = 0, cache_path: str | None = None):
        self.pool = pool
        self.suite = suite
        self.seed = seed
        self.cache_path = cache_path
        self.workers = len(pool.actors) * pool.cfg.threads_per_worker
        self.backend = None

    def evaluate(self, genome: PromptGenome, examples=None, *, samples: int = 1, on_result=None) -> EvalBatch:
        items = list(self.suite.examples if examples is None else examples)
        start = time.perf_counter()
        n_actors = len(self.pool.actors)
        size = -(-len(items) // n_actors) if items else 0
        chunks = [items[i:i + size] for i in range(0, len(items), size)] if size else []
        ref = self.pool.suite_ref(self.suite)
        futures = [actor.evaluate.remote(ref, genome.to_json(), chunk, samples, self.seed, self.cache_path)
                   for actor, chunk in zip(self.pool.actors, chunks)]
        records = [rec for chunk in ray.get(futures) for rec in chunk]
        if on_result:
            for rec in records:
                on_result(rec)
        return EvalBatch(genome.id, tuple(records), time.perf_counter() - start)

    def describe(self) -> dict:
        return {"kind": "ray", "address": self.pool.cfg.address, "actors": len(self.pool.actors),
                "actor_pids": list(self.pool.actor_pids)}

    def close(self) -> None:
        """Nothing to release per run: the actors belong to the pool."""
