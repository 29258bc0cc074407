"""Per-example memo of a run's evaluations: what a genome scored on each example it was run on.

Keys: ``(genome_id, split, samples, perturbed)`` -> ``{example_id: records}`` where ``records`` are the
``samples`` records of that example (the evaluator returns them consecutively, in example order).
A request for some or all examples of a split is assembled from what is known; only the examples not
known yet are evaluated. Minibatch screening and racing rely on it: a candidate promoted from a
minibatch to the full split pays only for the examples it has not seen, and an incumbent compared
on a minibatch pays nothing when it was evaluated on the whole split before.
"""
from __future__ import annotations

from evo.evaluation.records import EvalBatch, ExampleRecord

MemoKey = tuple  # (genome_id, split, samples, perturbed)


class ExampleMemo:
    """Not thread-safe: the run loop is its only user and calls it from one thread."""

    def __init__(self):
        self._records: dict[MemoKey, dict[str, tuple[ExampleRecord, ...]]] = {}
        self._full: dict[tuple, EvalBatch] = {}  # assembled batches, by (key, example ids)

    def missing(self, key: MemoKey, example_ids: list[str]) -> list[str]:
        known = self._records.get(key, {})
        return [i for i in example_ids if i not in known]

    def store(self, key: MemoKey, example_ids: list[str], batch: EvalBatch) -> None:
        """Split ``batch`` (``samples`` records per example, in ``example_ids`` order) into the memo."""
        samples = key[2]
        if len(batch.records) != len(example_ids) * samples:
            raise ValueError(f"batch of {len(batch.records)} records for {len(example_ids)} examples x {samples}")
        known = self._records.setdefault(key, {})
        for i, example_id in enumerate(example_ids):
            known.setdefault(example_id, batch.records[i * samples:(i + 1) * samples])

    def batch(self, key: MemoKey, example_ids: list[str], wall_s: float = 0.0) -> EvalBatch:
        """The records of ``example_ids`` (all must be known; none for an empty split) as one batch, in
        that order."""
        cache_key = (key, tuple(example_ids))
        cached = self._full.get(cache_key)
        if cached is not None:
            return cached
        known = self._records.get(key, {})  # an empty split: nothing was ever evaluated
        records = tuple(r for i in example_ids for r in known[i])
        out = EvalBatch(key[0], records, wall_s)
        self._full[cache_key] = out
        return out

    def genomes(self) -> set[str]:
        """Every genome id with at least one evaluated example."""
        return {key[0] for key, known in self._records.items() if known}
