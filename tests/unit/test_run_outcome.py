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


def test_a_tracker_locked_by_the_interrupted_write_is_retried_and_never_hides_the_interrupt(monkeypatch):
    monkeypatch.setattr("evo.tracking.END_RETRY_WAITS", (0.0, 0.0, 0.0))
    class Locked(InMemoryTracker):
        def __init__(self, failures):
            super().__init__()
            self.failures = failures

        def end_run(self, run_id, status="FINISHED"):
            if self.failures:
                self.failures -= 1
                raise RuntimeError("database is locked")
            super().end_run(run_id, status)

    tracker = Locked(failures=2)
    run = tracker.start_run("r")
    with pytest.raises(KeyboardInterrupt), run_outcome(tracker, run):
        raise KeyboardInterrupt
    assert tracker.runs[run]["status"] == "KILLED"  # after two locked attempts
    stuck = Locked(failures=99)
    run = stuck.start_run("r")
    with pytest.raises(KeyboardInterrupt):  # the interrupt goes on, not the tracker's error
        with run_outcome(stuck, run):
            raise KeyboardInterrupt
    assert "status" not in stuck.runs[run] or stuck.runs[run]["status"] != "KILLED"
