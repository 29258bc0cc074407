"""``Evaluator``: genome x examples -> ``EvalBatch``, in parallel, with per-example failures recorded.

Contract:
- ``evaluate`` returns records in the order of the examples given (and, with ``samples > 1``,
  sample-major within each example).
- An answer identical to the answer of a few-shot demo shown with it is flagged ``copied_demo``; if
  it failed, its category is ``copied_demo`` (the model repeated the demo instead of solving the input).
- It never raises for a single example: a backend error, a render error or a broken check becomes
  a record with ``error`` set, score 0 and category ``error``.
- Parallelism: ``workers`` threads, capped by the backend's ``max_concurrency`` (the local model is
  1, which also sends one prompt's examples back to back for KV-prefix reuse). With one worker the
  work runs inline on the calling thread.
- Thread-safe: several threads may call ``evaluate`` on one evaluator.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Sequence

from evo.redact import redact
from evo.errors import BackendError
from evo.evaluation.records import EvalBatch, ExampleRecord
from evo.evaluation.render import demo_examples, extract_answer, render_request
from evo.genome import PromptGenome
from evo.tasks.checks import normalize_text
from evo.tasks.suite import Example, TaskSuite

OnResult = Callable[[ExampleRecord], None]


class Evaluator:
    def __init__(self, backend, suite: TaskSuite, *, workers: int = 4, seed: int = 0):
        cap = backend.max_concurrency
        self.backend = backend
        self.suite = suite
        self.seed = seed
        self.workers = max(1, min(workers, cap) if cap else workers)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="evo-eval") if self.workers > 1 else None

    def describe(self) -> dict:
        """Where evaluation runs (logged with every run)."""
        return {"kind": "threads", "workers": self.workers}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)  # after Ctrl-C: queued calls are dropped
            self._pool = None
        self.backend.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _prepare(self, genome: PromptGenome, example: Example, sample_index: int):
        """(request, input text) for one example, or an error record when it cannot be rendered."""
        task = self.suite.task(example.task)
        try:
            input_text = task.render_input(example)
            return render_request(genome, example, task, self.suite, seed=self.seed, sample_index=sample_index), input_text
        except Exception as exc:
            return _error_record(example, "", f"render failed: {type(exc).__name__}: {exc}", sample_index)

    def evaluate_one(self, genome: PromptGenome, example: Example, sample_index: int = 0) -> ExampleRecord:
        """Run and score one example. Never raises."""
        prepared = self._prepare(genome, example, sample_index)
        if isinstance(prepared, ExampleRecord):
            return prepared
        request, input_text = prepared
        try:
            response = self.backend.complete(request)
        except Exception as exc:  # a backend error (or bug) must not end the run
            return self._scored(genome, example, sample_index, input_text, exc)
        return self._scored(genome, example, sample_index, input_text, response)

    def _scored(self, genome: PromptGenome, example: Example, sample_index: int, input_text: str,
                response) -> ExampleRecord:
        """The record of one example given the backend's outcome (a response or an exception)."""
        task = self.suite.task(example.task)
        if isinstance(response, BackendError):
            return _error_record(example, input_text, str(response), sample_index)
        if isinstance(response, Exception):
            return _error_record(example, input_text, f"{type(response).__name__}: {response}", sample_index)
        if not isinstance(response.text, str):
            return _error_record(example, input_text, f"malformed response: text is {type(response.text).__name__}",
                                 sample_index)
        answer = extract_answer(response.text, genome.chain_of_thought)
        results = tuple(check(answer, example.expected, example.inputs) for check in task.checks_for(example))
        score, passed, category = task.score(results)
        copied = copies_a_demo(answer, demo_examples(genome, example, self.suite))
        if copied and not passed:
            category = "copied_demo"
        return ExampleRecord(
            example_id=example.id, task=example.task, split=example.split, input_text=input_text,
            expected=example.expected, output=response.text, answer=answer, score=score, passed=passed,
            checks=results, category=category, latency_s=response.latency_s, input_tokens=response.input_tokens,
            output_tokens=response.output_tokens, cost_usd=response.cost_usd, cached=response.cached,
            sample_index=sample_index, copied_demo=copied,
        )

    def evaluate_batched(self, genome: PromptGenome, examples: Iterable[Example] | None = None, *,
                         samples: int = 1, on_result: OnResult | None = None) -> EvalBatch:
        """Like ``evaluate``, but every request goes out in one call of the backend's batch API
        (Anthropic Message Batches: half price, answers within hours instead of seconds). The records
        are those ``evaluate`` would give for the same responses; a request the batch fails becomes
        an error record like a failed call. Raises ``ConfigError`` for a backend without a batch API."""
        from evo.errors import ConfigError

        if not getattr(self.backend, "supports_batch", False):
            raise ConfigError("batch", f"backend {self.backend.fingerprint!r} has no batch API (use an anthropic backend)")
        items = list(self.suite.examples if examples is None else examples)
        jobs = [(ex, s) for ex in items for s in range(samples)]
        start = time.perf_counter()
        prepared = [self._prepare(genome, ex, s) for ex, s in jobs]
        sendable = [i for i, p in enumerate(prepared) if not isinstance(p, ExampleRecord)]
        try:
            outcomes = self.backend.complete_batch([prepared[i][0] for i in sendable])
        except Exception as exc:  # the batch itself failed: every request of it is a failed call
            outcomes = [exc] * len(sendable)
        by_job = dict(zip(sendable, outcomes))
        records = []
        for i, (ex, s) in enumerate(jobs):
            rec = prepared[i] if i not in by_job else self._scored(genome, ex, s, prepared[i][1], by_job[i])
            records.append(rec)
            if on_result:
                on_result(rec)
        self.backend.flush()
        return EvalBatch(genome.id, tuple(records), time.perf_counter() - start)

    def evaluate_many(self, jobs: Sequence[tuple], *, on_result: OnResult | None = None) -> list[EvalBatch]:
        """Several ``(genome, examples, samples)`` at once: every example of every genome goes to the
        thread pool together (no idle workers between genomes); one ``EvalBatch`` per job, in order."""
        if self._pool is None or len(jobs) <= 1:
            return [self.evaluate(g, ex, samples=s, on_result=on_result) for g, ex, s in jobs]
        start = time.perf_counter()
        units = [(j, g, ex, s) for j, (g, exs, samples) in enumerate(jobs) for ex in exs for s in range(samples)]

        def run(unit):
            _, genome, example, sample = unit
            rec = self.evaluate_one(genome, example, sample)
            if on_result:
                on_result(rec)
            return rec
        records = list(self._pool.map(run, units))
        self.backend.flush()
        elapsed = time.perf_counter() - start
        per_job: list[list] = [[] for _ in jobs]
        for (j, *_), rec in zip(units, records):
            per_job[j].append(rec)
        return [EvalBatch(g.id, tuple(recs), elapsed) for (g, _, _), recs in zip(jobs, per_job)]

    def evaluate(self, genome: PromptGenome, examples: Iterable[Example] | None = None, *,
                 samples: int = 1, on_result: OnResult | None = None) -> EvalBatch:
        """Evaluate ``genome`` on ``examples`` (default: the whole suite), ``samples`` times each."""
        items = list(self.suite.examples if examples is None else examples)
        jobs = [(ex, s) for ex in items for s in range(samples)]
        start = time.perf_counter()
        if self._pool is None:
            records = []
            for ex, s in jobs:
                rec = self.evaluate_one(genome, ex, s)
                records.append(rec)
                if on_result:
                    on_result(rec)
        else:
            def run(job):
                rec = self.evaluate_one(genome, *job)
                if on_result:
                    on_result(rec)
                return rec
            records = list(self._pool.map(run, jobs))
        self.backend.flush()
        return EvalBatch(genome.id, tuple(records), time.perf_counter() - start)


def copies_a_demo(answer: str, demos: Sequence[Example]) -> bool:
    """The answer (normalized, non-empty) is identical to one of the shown demos' answers."""
    text = normalize_text(answer)
    return bool(text) and any(text == normalize_text(str(d.expected)) for d in demos)


def _error_record(example: Example, input_text: str, message: str, sample_index: int) -> ExampleRecord:
    return ExampleRecord(
        example_id=example.id, task=example.task, split=example.split, input_text=input_text,
        expected=example.expected, output="", answer="", score=0.0, passed=False, category="error",
        error=redact(message), sample_index=sample_index,
    )
