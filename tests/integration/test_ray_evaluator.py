"""The Ray evaluator on a small local cluster (127.0.0.1, no dashboard)."""
import pytest

from evo.errors import ConfigError
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.llm.config import ScriptedConfig
from evo.evaluation.pool import RayEvaluatorConfig
from tests.helpers import arithmetic_suite

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield
    ray.shutdown()


def scripted_cfg():
    # answers the bare sum for "a + b" lines it knows, raises (-> error record) for the rest
    responses = {f"{a} + {b}": str(a + b) for a in range(1, 8) for b in range(1, 5)}
    return ScriptedConfig(kind="scripted", responses=responses, default=None)


def test_ray_that_cannot_start_is_a_clear_error():
    from evo.evaluation.ray_evaluator import RayEvaluatorPool
    if ray.is_initialized():
        pytest.skip("needs no running Ray in this process")
    with pytest.raises(ConfigError, match="evaluator.address: Ray could not start at 'auto'"):
        RayEvaluatorPool(RayEvaluatorConfig(kind="ray", address="auto"), scripted_cfg())


def test_ray_evaluator_matches_threads_in_order(cluster, tmp_path):
    from evo.evaluation.ray_evaluator import RayEvaluatorPool
    from evo.llm.config import build_backend
    suite = arithmetic_suite(n_train=15, n_val=5, n_test=5)
    pool = RayEvaluatorPool(RayEvaluatorConfig(kind="ray", num_workers=2, threads_per_worker=2), scripted_cfg(),
                            cache_path=tmp_path / "c.sqlite")
    try:
        genome = PromptGenome(instruction="Add.")
        ray_batch = pool.evaluator(suite, seed=3).evaluate(genome, suite.split("train"))
        import os
        assert pool.worker_pids and os.getpid() not in pool.worker_pids  # Ray's worker processes did the work
        local = Evaluator(build_backend(scripted_cfg()), suite, seed=3).evaluate(genome, suite.split("train"))
        assert [r.example_id for r in ray_batch.records] == [e.id for e in suite.split("train")]
        assert [(r.output, r.passed, r.error is None) for r in ray_batch.records] == \
               [(r.output, r.passed, r.error is None) for r in local.records]
        assert ray_batch.n_errors == sum(1 for e in suite.split("train") if int(e.inputs["b"]) > 4) == local.n_errors
        again = pool.evaluator(suite, seed=3).evaluate(genome, suite.split("train"))
        assert again.n_cached == again.n - again.n_errors  # the shared SQLite cache serves the rerun
    finally:
        pool.shutdown()
    assert ray.is_initialized()  # the pool did not start this cluster, so it leaves it running


def test_cluster_wide_rate_limit_spaces_every_workers_calls(cluster):
    import time

    from evo.evaluation.rate_limit import RateLimitConfig
    from evo.evaluation.ray_evaluator import RayEvaluatorPool
    suite = arithmetic_suite(n_train=20, n_val=2, n_test=2)
    limit = RateLimitConfig(requests_per_minute=600, burst_s=0.1)  # 10 calls/s across the cluster
    pool = RayEvaluatorPool(RayEvaluatorConfig(kind="ray", threads_per_worker=4, rate_limit=limit), scripted_cfg())
    try:
        start = time.perf_counter()
        batch = pool.evaluator(suite).evaluate(PromptGenome(instruction="Add."), suite.split("train"))
        elapsed = time.perf_counter() - start
        assert batch.n == 20 and elapsed >= 1.8  # 20 calls at 10/s, whichever worker makes them
        assert pool.limiter_stats()["waited_s"] > 5
    finally:
        pool.shutdown()


def test_thread_pool_rate_limit_through_the_session():
    import time

    from evo.run.session import Session
    from evo.run.resolve import resolve
    from evo.run.spec import RunSpec
    suite = arithmetic_suite(n_train=12, n_val=2, n_test=2)
    spec = RunSpec.model_validate({"suite": "x", "task_model": scripted_cfg().model_dump(), "optimizer": {"kind": "scripted"},
                                   "cache": False, "evaluator": {"kind": "threads", "workers": 8, "rate_limit": {
                                       "requests_per_minute": 1200, "burst_s": 0.05}}})
    with Session(resolve(spec, env={})) as session:
        start = time.perf_counter()
        batch = session.pool.evaluator(suite).evaluate(PromptGenome(instruction="Add."), suite.split("train"))
        assert batch.n == 12 and time.perf_counter() - start >= 0.5  # 20 calls/s despite 8 threads


def test_judge_checks_run_on_the_workers_with_the_judge_model(cluster, tmp_path):
    """Workers build the judge from its config (a bound in-process judge never crosses to Ray)."""
    import json

    from evo.evaluation.ray_evaluator import RayEvaluatorPool
    from evo.tasks.check_config import LLMJudgeConfig, build_check
    from evo.tasks.suite import Task, TaskSuite
    suite = arithmetic_suite(n_train=6, n_val=2, n_test=2)
    judged = build_check(LLMJudgeConfig(kind="llm_judge", mode="reference"))
    suite = TaskSuite(suite.name, tuple(Task(t.name, t.input_template, t.checks + (judged,)) for t in suite.tasks),
                      suite.examples)
    judge = ScriptedConfig(kind="scripted", default=json.dumps({"score": 5, "reason": "agrees"}))
    pool = RayEvaluatorPool(RayEvaluatorConfig(kind="ray", num_workers=2), scripted_cfg(), judge_model=judge)
    try:
        batch = pool.evaluator(suite, seed=0).evaluate(PromptGenome(instruction="Add."), suite.split("train"))
    finally:
        pool.shutdown()
    answered = [r for r in batch.records if not r.error]
    assert answered and all(r.checks[-1].score == 1.0 and "agrees" in r.checks[-1].message for r in answered)
    assert batch.judge_usage["calls"] == len(answered)
