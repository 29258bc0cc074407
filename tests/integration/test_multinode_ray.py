"""A real multi-node Ray cluster on 127.0.0.1 (a head and two worker nodes, each its own raylet): a
comparison runs across it while a worker node is killed, and gives exactly what the same comparison
gives on threads, with stateless tasks (API models) and with node-pinned actors (local models)."""
import threading
import time

import pytest

from experiments.runner import run_experiment
from tests.helpers import write_add_suite

ray = pytest.importorskip("ray")

HEALTH = {"health_check_period_ms": 500, "health_check_failure_threshold": 3, "health_check_timeout_ms": 500,
          "health_check_initial_delay_ms": 0}


@pytest.fixture(scope="module")
def cluster():
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    # every node on 127.0.0.1: keep Ray from swapping loopback for the machine's external address
    saved, ray_constants.ENABLE_RAY_CLUSTER = ray_constants.ENABLE_RAY_CLUSTER, False
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False,
                                                      "node_ip_address": "127.0.0.1", "_system_config": HEALTH})
    yield c
    if ray.is_initialized():
        ray.shutdown()
    c.shutdown()
    ray_constants.ENABLE_RAY_CLUSTER = saved


def _config(tmp_path, suite, name: str, evaluator: str) -> str:
    responses = {f"{a} + {b}": str(a + b) for a in range(1, 8) for b in range(1, 6) if (a + b) % 3}
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""
name: {name}
suites: ['{suite}']
task_model: {{kind: scripted, responses: {responses!r}, default: '?', latency_s: 0.03}}
optimizer: {{kind: scripted, default: '<prompt>Add the numbers.</prompt>'}}
strategies:
  # whole-split evaluations (no minibatch screening): large units of work are in flight when the node dies
  evolutionary: {{kind: evolutionary, population_size: 4, keep: 2, generations: 3, target_score: null, minibatch: 0}}
budget: {{max_calls: 150}}
cache: false
evaluator: {evaluator}
tracking: {{kind: none}}
output_dir: '{tmp_path}/results'
bootstrap_resamples: 100
""")
    return str(path)


def _rows(report):
    return [{k: r[k] for k in ("strategy", "test_score", "train_after", "val_after", "task_calls", "test_n")}
            for r in report.rows]


def _busy(node_id: str, mode: str, results) -> bool:
    """Whether the comparison is under way on the cluster: a strategy run has written its first step
    (later steps are still to come), and with actors, an evaluation actor is alive on the node."""
    from ray._private import state
    started = any(p.stat().st_size for p in results.glob("multi-*/runs/*/*/*/steps.jsonl"))
    if not started or mode == "tasks":
        return started
    return any(a.get("Address", {}).get("NodeID") == node_id
               for a in state.actors(actor_state_name="ALIVE").values())


@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", ["tasks", "actors"])
def test_comparison_survives_a_killed_node(cluster, tmp_path, mode):
    workers = [cluster.add_node(num_cpus=1, resources={f"w{i}": 1}, node_ip_address="127.0.0.1") for i in range(2)]
    cluster.wait_for_nodes()
    if not ray.is_initialized():
        ray.init(address=cluster.address, log_to_driver=False)
    suite = write_add_suite(tmp_path, 12, 6, 9)
    reference = run_experiment(_config(tmp_path, suite, "ref", "{kind: threads, workers: 6}"))
    assert len(ray.nodes()) >= 3

    victim = workers[0]
    killed, done = threading.Event(), threading.Event()
    when = {}

    def kill_when_busy():
        """Kill the victim node once it holds work of the comparison (an evaluation actor alive on it, or
        a task running there): the event the test needs, not a guess at how long start-up takes."""
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not done.is_set():
            if _busy(victim.node_id, mode, tmp_path / "results"):
                when["finished_first"] = done.is_set()
                cluster.remove_node(victim, allow_graceful=False)
                killed.set()
                return
            time.sleep(0.05)
    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    evaluator = (f"{{kind: ray, address: '{cluster.address}', mode: {mode}, num_workers: 3, threads_per_worker: 2}}")
    try:
        report = run_experiment(_config(tmp_path, suite, f"multi-{mode}", evaluator))
    finally:
        done.set()
        killer.join()
    assert killed.is_set() and not when["finished_first"], "the node was not killed while it held work"
    assert _rows(report) == _rows(reference)  # nothing lost, nothing counted twice
    for cell in report.cells:
        where = cell.result.evaluator
        assert where["kind"] == "ray" and where["mode"] == mode
        assert len(cell.result.test_records) == 9
    if mode == "actors":  # one actor per node; the dead node's actor was noticed and its work redone
        last = report.cells[-1].result.evaluator
        # how many replacements fit depends on free CPUs when the death is noticed: at least one per live node
        assert last["actor_restarts"] == 1 and last["actors"] >= 2 and last["nodes"] == 2
    cluster.remove_node(workers[1], allow_graceful=True)
