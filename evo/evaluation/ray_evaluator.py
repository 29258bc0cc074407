"""Fitness evaluation on Ray (the only module importing ray).

``RayEvaluatorPool`` starts (``address: local``) or joins (``auto``, ``host:port``, ``ray://…``) a
cluster. How work runs depends on the task model:
- **API backends** (anthropic, openai_compatible, scripted): stateless Ray tasks. Each task evaluates
  a chunk of examples with ``threads_per_worker`` calls in flight; a worker process builds the backend
  once and reuses it. Ray reschedules a task whose node dies (``max_retries``).
- **The local GGUF model**: ``num_workers`` actors, pinned round-robin to the cluster's nodes (one
  loaded model per actor, ``n_threads = threads_per_worker``). If an actor's node dies, its chunks go
  to the surviving actors, and replacements start on the nodes still alive.

``pool.evaluator(suite, seed, cache_path)`` gives the ``Evaluator`` interface. ``evaluate_many`` takes
every genome of a step at once and spreads all their examples over the cluster. Records come back in
input order; per-example failures are records; nothing is lost when a node dies, since only
completed chunks count.

With ``rate_limit`` set, one named limiter actor books every call of every worker, so the whole
cluster stays under the provider's requests/tokens per minute and honours ``retry-after``.

If Ray is configured and cannot start, a ``ConfigError`` says so: there is no silent fallback.
"""
from __future__ import annotations

import os
import time

import ray
from ray.exceptions import RayActorError, RayTaskError, WorkerCrashedError

from evo.errors import ConfigError
from evo.evaluation.evaluator import Evaluator
from evo.evaluation.rate_limit import TokenBuckets
from evo.evaluation.records import EvalBatch
from evo.genome import PromptGenome

_WORKER_BACKENDS: dict = {}  # per worker process: (backend config, cache path) -> backend


def _backend(backend_cfg: dict, cache_path: str | None, threads: int, limiter, max_pause_retries: int):
    """The task backend for this worker process, built once per (config, cache), behind the limiter
    (inside the cache: cache hits are not rate limited)."""
    key = (repr(sorted(backend_cfg.items())), cache_path,
           limiter._actor_id.hex() if limiter is not None else None)  # each pool's own limiter
    if key not in _WORKER_BACKENDS:
        from evo.evaluation.backend_stack import backend_stack
        from evo.llm.config import parse_backend_config

        _WORKER_BACKENDS[key] = backend_stack(parse_backend_config(backend_cfg, "task_model").with_threads(threads),
                                              cache_path=cache_path, max_pause_retries=max_pause_retries,
                                              limiter=_LimiterProxy(limiter) if limiter is not None else None)
    return _WORKER_BACKENDS[key]


def _evaluate(backend, suite, genome_json: dict, examples: list, samples: int, seed: int, threads: int,
              judge=None) -> list:
    if judge is not None:
        suite = suite.with_judge(judge)
    evaluator = Evaluator(backend, suite, workers=threads, seed=seed)
    try:
        return list(evaluator.evaluate(PromptGenome.from_json(genome_json), examples, samples=samples).records)
    finally:
        evaluator.close()


@ray.remote(num_cpus=1, max_retries=5)
def evaluate_chunk(backend_cfg: dict, cache_path: str | None, suite, genome_json: dict, examples: list,
                   samples: int, seed: int, threads: int, limiter=None, max_pause_retries: int = 3,
                   judge_cfg: dict | None = None) -> list:
    """A stateless chunk evaluation (API backends); rescheduled by Ray if its node dies. ``judge_cfg``:
    the model of the suite's judge checks (built once per worker process, like the task model)."""
    backend = _backend(backend_cfg, cache_path, threads, limiter, max_pause_retries)
    judge = _backend(judge_cfg, cache_path, threads, limiter, max_pause_retries) if judge_cfg else None
    return [os.getpid(), _evaluate(backend, suite, genome_json, examples, samples, seed, threads, judge)]


@ray.remote
class EvalWorker:
    """One loaded local model on one node."""

    def __init__(self, backend_cfg: dict, threads: int, limiter=None, max_pause_retries: int = 3):
        self.backend_cfg, self.threads = backend_cfg, threads
        self.limiter, self.max_pause_retries = limiter, max_pause_retries
        _backend(backend_cfg, None, threads, limiter, max_pause_retries)  # load the model now

    def evaluate(self, suite, genome_json: dict, examples: list, samples: int, seed: int,
                 cache_path: str | None = None, judge_cfg: dict | None = None) -> list:
        backend = _backend(self.backend_cfg, cache_path, self.threads, self.limiter, self.max_pause_retries)
        judge = (_backend(judge_cfg, cache_path, self.threads, self.limiter, self.max_pause_retries)
                 if judge_cfg else None)  # the same loaded model when the judge is the task model
        return _evaluate(backend, suite, genome_json, examples, samples, seed, self.threads, judge)

    def where(self) -> tuple[int, str]:
        return os.getpid(), ray.get_runtime_context().get_node_id()


@ray.remote(num_cpus=0)
class RateLimiterActor:
    """The cluster's one ``TokenBuckets``."""

    def __init__(self, cfg_json: dict):
        from evo.evaluation.rate_limit import RateLimitConfig

        self.buckets = TokenBuckets(RateLimitConfig.model_validate(cfg_json))

    def reserve(self, tokens: int) -> float:
        return self.buckets.reserve(tokens)

    def pause(self, seconds: float) -> None:
        self.buckets.pause(seconds)

    def stats(self) -> dict:
        return self.buckets.stats()


class _LimiterProxy:
    """``reserve``/``pause`` of the limiter actor, for ``RateLimitedBackend`` inside a worker."""

    def __init__(self, actor):
        self.actor = actor

    def reserve(self, tokens: int) -> float:
        return ray.get(self.actor.reserve.remote(tokens))

    def pause(self, seconds: float) -> None:
        self.actor.pause.remote(seconds)


def alive_nodes() -> list[dict]:
    return [n for n in ray.nodes() if n.get("Alive")]


class RayEvaluatorPool:
    def __init__(self, cfg, backend_cfg, cache_path=None, judge_model=None):
        self.cfg = cfg
        self.judge_cfg = judge_model.model_dump(mode="json") if judge_model is not None else None
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
        self.backend_cfg = backend_cfg.model_dump(mode="json")
        mode = getattr(cfg, "mode", "auto")
        self.local_model = mode == "actors" or (mode == "auto" and backend_cfg.in_process)
        self.limiter = None
        limit = getattr(cfg, "rate_limit", None)
        self.max_pause_retries = limit.max_pause_retries if limit is not None else 0
        if limit is not None:
            self.limiter = RateLimiterActor.remote(limit.model_dump(mode="json"))
        self.actors: list = []
        self.actor_pids: list[int] = []
        self.actor_nodes: list[str] = []
        self.restarts = 0
        self.worker_pids: set[int] = set()  # processes that evaluated tasks (API backends)
        if self.local_model:
            self._start_actors(cfg.num_workers)
        self._suite_refs: dict[int, tuple] = {}

    # ---- actors (local model) --------------------------------------------------------------------------
    def _start_actors(self, count: int, timeout_s: float = 60.0) -> None:
        """Start up to ``count`` actors round-robin over the alive nodes, as many as free CPUs allow (a
        lost node's actor is replaced only where there is room); an actor that cannot start within
        ``timeout_s`` is dropped. Raises ``ConfigError`` when no actor can start at all."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        cpus = min(1, self.cfg.threads_per_worker)
        free = ray.available_resources().get("CPU", 0.0)
        count = min(count, int(free // cpus)) if cpus else count
        nodes = [n["NodeID"] for n in alive_nodes() if n.get("Resources", {}).get("CPU", 0) >= cpus] or \
                [n["NodeID"] for n in alive_nodes()]
        new = [EvalWorker.options(num_cpus=cpus, scheduling_strategy=NodeAffinitySchedulingStrategy(
                   nodes[(len(self.actors) + i) % len(nodes)], soft=True))
               .remote(self.backend_cfg, self.cfg.threads_per_worker, self.limiter, self.max_pause_retries)
               for i in range(count)]
        probes = {a.where.remote(): a for a in new}
        ready, stuck = ray.wait(list(probes), num_returns=len(probes), timeout=timeout_s) if probes else ([], [])
        for ref in stuck:
            ray.kill(probes[ref])
        for ref in ready:
            try:
                pid, node = ray.get(ref)
            except (RayActorError, WorkerCrashedError):
                continue
            self.actors.append(probes[ref])
            self.actor_pids.append(pid)
            self.actor_nodes.append(node)
        if not self.actors:
            raise ConfigError("evaluator", "no Ray node could start an evaluation actor (not enough free CPUs)")

    def _drop_actor(self, actor) -> None:
        i = self.actors.index(actor)
        for lst in (self.actors, self.actor_pids, self.actor_nodes):
            lst.pop(i)

    def suite_ref(self, suite):
        key = id(suite)
        if key not in self._suite_refs:
            self._suite_refs[key] = (suite, ray.put(suite))
        return self._suite_refs[key][1]

    @property
    def slots(self) -> int:
        """Chunks that can run at once."""
        if self.local_model:
            return max(1, len(self.actors))
        return max(1, int(sum(n.get("Resources", {}).get("CPU", 0) for n in alive_nodes())))

    def run_units(self, units: list[tuple], suite, seed: int, cache_path: str | None) -> list[list]:
        """Evaluate ``(genome_json, examples, samples)`` units; one record list per unit, in order."""
        ref = self.suite_ref(suite)
        threads = self.cfg.threads_per_worker
        judge_cfg = self.judge_cfg if suite.judge_checks() else None
        if not self.local_model:
            futures = [evaluate_chunk.remote(self.backend_cfg, cache_path, ref, g, ex, s, seed, threads, self.limiter,
                                             self.max_pause_retries, judge_cfg) for g, ex, s in units]
            out = []
            for pid, records in ray.get(futures):
                self.worker_pids.add(pid)
                out.append(records)
            return out
        results: list = [None] * len(units)
        todo = list(range(len(units)))
        while todo:
            if not self.actors:
                self._start_actors(self.cfg.num_workers)
            pending = {}
            for k, i in enumerate(todo):
                actor = self.actors[k % len(self.actors)]
                g, ex, s = units[i]
                pending[actor.evaluate.remote(ref, g, ex, s, seed, cache_path, judge_cfg)] = (i, actor)
            todo = []
            lost = set()
            for future, (i, actor) in pending.items():
                try:
                    results[i] = ray.get(future)
                except (RayActorError, WorkerCrashedError):
                    todo.append(i)  # its node or process died: run it again elsewhere
                    lost.add(actor)
                except RayTaskError:
                    raise
            for actor in lost:
                if actor in self.actors:
                    self._drop_actor(actor)
                    self.restarts += 1
            if lost and len(self.actors) < self.cfg.num_workers:
                self._start_actors(self.cfg.num_workers - len(self.actors), timeout_s=10.0)
        return results

    def evaluator(self, suite, seed: int = 0, cache_path: str | None = None) -> "RayEvaluator":
        return RayEvaluator(self, suite, seed, cache_path if cache_path is not None else self.cache_path)

    def limiter_stats(self) -> dict | None:
        return ray.get(self.limiter.stats.remote()) if self.limiter is not None else None

    def close(self) -> None:
        self.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def shutdown(self) -> None:
        for actor in self.actors + ([self.limiter] if self.limiter is not None else []):
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone with its node
                pass
        self.actors, self.limiter = [], None
        if self.started_ray:
            ray.shutdown()


class RayEvaluator:
    """The ``Evaluator`` interface over a ``RayEvaluatorPool``."""

    def __init__(self, pool: RayEvaluatorPool, suite, seed: int = 0, cache_path: str | None = None):
        self.pool = pool
        self.suite = suite
        self.seed = seed
        self.cache_path = cache_path
        self.workers = pool.slots * pool.cfg.threads_per_worker
        self.backend = None

    def evaluate(self, genome: PromptGenome, examples=None, *, samples: int = 1, on_result=None) -> EvalBatch:
        items = list(self.suite.examples if examples is None else examples)
        return self.evaluate_many([(genome, items, samples)], on_result=on_result)[0]

    def evaluate_many(self, jobs, *, on_result=None) -> list[EvalBatch]:
        """All jobs' examples split into chunks (about two per slot over the whole step, contiguous
        within a genome so a local model reuses its prompt prefix) and scheduled at once."""
        start = time.perf_counter()
        jobs = [(g, list(self.suite.examples if ex is None else ex), s) for g, ex, s in jobs]
        total = sum(len(ex) for _, ex, _ in jobs)
        size = max(1, -(-total // (2 * self.pool.slots)))
        units, owner = [], []
        for j, (genome, items, samples) in enumerate(jobs):
            for i in range(0, len(items), size):
                units.append((genome.to_json(), items[i:i + size], samples))
                owner.append(j)
        per_job: list[list] = [[] for _ in jobs]
        for j, records in zip(owner, self.pool.run_units(units, self.suite, self.seed, self.cache_path)):
            per_job[j].extend(records)
        elapsed = time.perf_counter() - start
        batches = []
        for (genome, _, _), records in zip(jobs, per_job):
            if on_result:
                for rec in records:
                    on_result(rec)
            batches.append(EvalBatch(genome.id, tuple(records), elapsed))
        return batches

    def describe(self) -> dict:
        nodes = alive_nodes()
        return {"kind": "ray", "address": self.pool.cfg.address, "nodes": len(nodes),
                "mode": "actors" if self.pool.local_model else "tasks", "actors": len(self.pool.actors),
                "actor_pids": list(self.pool.actor_pids), "actor_restarts": self.pool.restarts,
                "worker_pids": sorted(self.pool.worker_pids | set(self.pool.actor_pids))}

    def close(self) -> None:
        """Nothing to release per run: the actors belong to the pool."""
