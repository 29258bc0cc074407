"""``run_outcome`` decides a tracker run's end status in one place (runs, comparisons, improve rounds)."""
import pytest

from evo.tracking import InMemoryTracker, run_outcome


@pytest.mark.parametrize("raised, status", [(None, "FINISHED"), (KeyboardInterrupt, "KILLED"),
                                            (RuntimeError, "FAILED"), (SystemExit, "FAILED")])
def test_the_end_status_follows_how_the_block_ended(raised, status):
    tracker = InMemoryTracker()
    run = tracker.start_run("r")
    with pytest.raises(raised) if raised else _nothing():
        with run_outcome(tracker, run):
            if raised:
                raise raised()
    assert tracker.runs[run]["status"] == status


def test_finish_false_leaves_a_success_to_the_caller_and_no_run_records_nothing():
    tracker = InMemoryTracker()
    run = tracker.start_run("r")
    before = tracker.runs[run].get("status")
    with run_outcome(tracker, run, finish=False):
        pass
    assert tracker.runs[run].get("status") == before
    with pytest.raises(RuntimeError), run_outcome(tracker, None):
        raise RuntimeError
    assert tracker.runs[run].get("status") == before


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
