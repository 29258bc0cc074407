"""``evo.llm.cpu_share``: the cores other processes leave free, from /proc/stat and our own CPU time."""
import pytest

from evo.llm.cpu_share import CpuShare, busy_seconds, threads_for
from evo.llm.local import threads_from_env
from evo.errors import ConfigError

STAT = """cpu  300 0 100 5000 20 0 0 0 0 0
cpu0 100 0 50 2500 10 0 0 0 0 0
cpu1 200 0 50 2500 10 0 0 0 0 0
intr 12345
"""


def test_busy_time_counts_the_usable_cpus_without_idle_and_iowait():
    assert busy_seconds([0, 1], STAT, 100.0) == 4.0
    assert busy_seconds([1], STAT, 100.0) == 2.5


@pytest.mark.parametrize("free, expected", [(None, 2), (2.0, 2), (1.8, 2), (1.6, 1), (1.0, 1), (0.2, 1), (7.0, 4)])
def test_one_thread_per_free_core(free, expected):
    assert threads_for(free, 4 if free == 7.0 else 2) == expected


def test_free_cores_are_what_the_others_leave(tmp_path):
    stat, clock, own = tmp_path / "stat", [0.0], [0.0]
    stat.write_text("cpu0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0\n")
    share = CpuShare(0.5, stat_path=str(stat), clock=lambda: clock[0], own_cpu_s=lambda: own[0])
    share.cpus, share._ticks = [0, 1], 100.0
    assert share.free_cores() is None  # no interval yet
    clock[0], own[0] = 0.2, 0.2
    assert share.free_cores() is None  # too soon for a measurement
    stat.write_text("cpu0 100 0 0 0 0 0 0 0\ncpu1 80 0 0 20 0 0 0 0\n")
    clock[0], own[0] = 1.0, 0.9  # 1.8 busy core-seconds, 0.9 ours
    assert share.free_cores() == pytest.approx(1.1)


def test_a_machine_without_proc_stat_keeps_the_configured_count(tmp_path):
    share = CpuShare(stat_path=str(tmp_path / "missing"))
    assert share.free_cores() is None


@pytest.mark.parametrize("raw, expected", [("", None), ("auto", None), ("3", 3)])
def test_threads_from_the_environment(raw, expected):
    assert threads_from_env({"EVO_LOCAL_THREADS": raw}) == expected


@pytest.mark.parametrize("raw", ["0", "-1", "two", "1.5"])
def test_a_bad_thread_count_in_the_environment_is_named(raw):
    with pytest.raises(ConfigError, match="EVO_LOCAL_THREADS"):
        threads_from_env({"EVO_LOCAL_THREADS": raw})


def test_a_slowdown_against_the_best_window_is_reported_once_in_a_while():
    from evo.llm.cpu_share import ThroughputWatch
    watch = ThroughputWatch(window=2, factor=3.0, every=3)
    said = [watch.add(100, 1.0) for _ in range(4)]  # 100 tokens/s: the best
    assert said == [None] * 4
    said = [watch.add(10, 1.0) for _ in range(8)]  # 10 tokens/s: 10x slower
    assert [round(s) for s in said if s] == [10, 10]  # reported, then quiet for 3 windows, then again
    assert said.index(next(s for s in said if s)) == 1
