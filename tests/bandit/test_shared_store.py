"""The store shared by several router processes, on SQLite and on a real PostgreSQL server that the
tests start on 127.0.0.1: at-most-once rewards, and exact counts after concurrent load through two
`evo bandit serve` processes."""
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from bandit.policies import BetaTSConfig
from bandit.router import Router
from bandit.store import ArmStore, DuplicateReward, UnknownDecision
from benchmarks.loadgen import run_load
from evo.genome import PromptGenome
from tests.fake_servers import start_router

TOKEN = "shared-store-token"


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    pytest.importorskip("pgserver", reason="pgserver is installed with the test extra")
    from bandit.testing.postgres import LocalPostgres

    server = LocalPostgres(tmp_path_factory.mktemp("pg"))
    yield server.start()
    server.stop()


def _fresh_database(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/shared.sqlite"
    return _fresh_database(request.getfixturevalue("postgres"), f"t_{abs(hash(request.node.name)) % 10**8}")


def test_rewards_are_at_most_once_and_exact_under_threads(store_url):
    router = Router(ArmStore(store_url), BetaTSConfig(), refresh_s=0.05)
    router.add_arm("prod", {"instruction": "A"}, production=True)
    router.add_arm("cand", {"instruction": "B"})
    decisions = [router.route({"i": i}) for i in range(200)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda d: router.reward(d.decision_id, 1.0), decisions))
    with pytest.raises(DuplicateReward):
        router.reward(decisions[0].decision_id, 1.0)
    with pytest.raises(UnknownDecision):
        router.reward("0" * 32, 1.0)
    arms = {a.id: a for a in router.store.arms()}
    for arm_id in ("prod", "cand"):
        assert arms[arm_id].n == sum(d.arm_id == arm_id for d in decisions)
    assert router.store.logs()[0]["features"] == {"i": 0}
    router.store.close()


def test_two_router_processes_under_load_keep_exact_counts(store_url):
    servers = [start_router(store_url, TOKEN, "--seed", str(k)) for k in range(2)]
    try:
        base = servers[0][0]
        for i, production in enumerate((True, False, False)):
            r = httpx.post(base + "/arms", json={"genome": PromptGenome(instruction=f"v{i}").to_json(),
                                                  "production": production},
                           headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
            assert r.status_code == 201
        ports = [int(b.rsplit(":", 1)[1]) for b, _ in servers]
        with ThreadPoolExecutor(2) as pool:
            loads = list(pool.map(lambda p: run_load("127.0.0.1", p, clients=8, seconds=2.0, route_body={}), ports))
        assert all(load.errors == 0 for load in loads), [load.error_samples for load in loads]
        picks = [arm for load in loads for arm in load.arms]
        assert len(picks) > 200
        arms = {a["arm_id"]: a for a in httpx.get(servers[1][0] + "/arms", timeout=10).json()["arms"]}
        assert {k: a["pulls"] for k, a in arms.items()} == {k: float(picks.count(k)) for k in arms}
        store = ArmStore(store_url)
        counts = store.decision_counts()
        assert sum(c["decisions"] for c in counts.values()) == sum(c["rewarded"] for c in counts.values()) == len(picks)
        store.close()
    finally:
        for _, proc in servers:
            proc.terminate()
            proc.wait(10)
