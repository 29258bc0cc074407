"""Production router: ready-to-send prompts equal to the evaluator's requests, staged rollout caps and
rollback in seeded simulations, /metrics in Prometheus format, /healthz checking the store, offline
/docs and a complete OpenAPI spec, schema migration and exact counts with several worker processes."""
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from bandit.policies import BetaTSConfig, EpsilonGreedyConfig, UniformConfig
from bandit.rollout import ROLLED_BACK, RolloutConfig, ShareWindow
from bandit.router import Router
from bandit.store import SCHEMA_VERSION, ArmStore
from evo.evaluation.evaluator import Evaluator
from evo.evaluation.render import render_context, request_json
from evo.genome import PromptGenome
from evo.llm.scripted import ScriptedBackend
from evo.tasks.loader import load_suite
from tests.fake_servers import start_router

TOKEN = "prod-router-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prod-router")
    base, proc = start_router(f"sqlite:///{tmp}/b.sqlite", TOKEN)
    yield base
    proc.terminate()
    proc.wait(10)


def _evaluator_request(genome, suite, example):
    backend = ScriptedBackend(lambda request: "42")
    Evaluator(backend, suite, workers=1).evaluate(genome, [example])
    assert len(backend.requests) == 1
    return backend.requests[0]


@pytest.mark.parametrize("settings", [
    {"few_shot_k": 3, "chain_of_thought": True, "placement": "system", "system": "You are exact."},
    {"few_shot_k": 2, "chain_of_thought": False, "placement": "user", "temperature": 0.7, "max_tokens": 33},
    {"few_shot_k": 0},
])
def test_route_returns_exactly_the_request_the_evaluator_sends(server, settings):
    suite = load_suite("arithmetic")
    train = suite.split("train")
    genome = PromptGenome(instruction="Compute the result. Answer with the number only.",
                          demo_ids=[ex.id for ex in train[:4]], **settings)
    r = httpx.post(server + "/arms", json={"genome": genome.to_json(), "production": True, "replace": True,
                                            "context": render_context(genome, suite)}, headers=AUTH, timeout=10)
    assert r.status_code == 201, r.text
    for other in list(httpx.get(server + "/arms", timeout=10).json()["arms"]):
        if other["arm_id"] != genome.id and other["active"]:
            httpx.delete(server + f"/arms/{other['arm_id']}", headers=AUTH, timeout=10)
    example = suite.split("test")[0]
    answer = httpx.post(server + "/route", json={"input": dict(example.inputs)}, timeout=10).json()
    assert answer["arm_id"] == genome.id and answer["genome"] == genome.to_json()
    expected = request_json(_evaluator_request(genome, suite, example))
    assert json.dumps(answer["request"], sort_keys=True).encode() == json.dumps(expected, sort_keys=True).encode()
    demos = [m for m in answer["request"]["messages"][:-1] if m["role"] == "assistant"]
    assert len(demos) == settings["few_shot_k"]


def test_route_input_errors_are_clear(server):
    r = httpx.post(server + "/route", json={"input": {"question": "1+1"}}, timeout=10)
    assert r.status_code == 422 and "missing" in r.json()["detail"]
    genome_only = httpx.post(server + "/route", json={}, timeout=10).json()
    assert genome_only["request"] is None and "instruction" in genome_only["genome"]


def test_metrics_parse_with_the_prometheus_parser(server):
    from prometheus_client.parser import text_string_to_metric_families

    d = httpx.post(server + "/route", json={}, timeout=10).json()
    httpx.post(server + "/reward", json={"decision_id": d["decision_id"], "reward": 1}, timeout=10)
    text = httpx.get(server + "/metrics", timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {"evo_router_requests", "evo_router_request_seconds", "evo_router_decisions", "evo_router_rewards",
            "evo_router_arm_pulls", "evo_router_store_errors"} <= set(families)
    routes = [s for s in families["evo_router_requests"].samples
              if s.labels.get("endpoint") == "/route" and s.labels.get("status") == "200"]
    assert routes and routes[0].value >= 1
    buckets = [s for s in families["evo_router_request_seconds"].samples if s.name.endswith("_bucket")]
    assert buckets and any(s.labels["endpoint"] == "/reward" for s in buckets)
    assert any(s.labels["arm"] == d["arm_id"] for s in families["evo_router_rewards"].samples)


def test_docs_are_self_hosted_and_openapi_is_complete(server):
    page = httpx.get(server + "/docs", timeout=10).text
    assert "cdn." not in page and "/static-offline-docs/swagger-ui-bundle.js" in page
    assert httpx.get(server + "/static-offline-docs/swagger-ui-bundle.js", timeout=10).status_code == 200
    spec = httpx.get(server + "/openapi.json", timeout=10).json()
    codes = {(path, method): set(op["responses"]) for path, ops in spec["paths"].items() for method, op in ops.items()}
    assert {"200", "404", "409", "413", "422", "503"} <= codes[("/reward", "post")]
    assert {"200", "413", "422", "503"} <= codes[("/route", "post")]
    assert {"201", "401", "403", "409", "422"} <= codes[("/arms", "post")]
    assert {"200", "401", "403", "404", "409"} <= codes[("/arms/{arm_id}", "delete")]
    assert any(s.get("scheme") == "bearer" for s in spec["components"]["securitySchemes"].values())
    assert spec["paths"]["/arms"]["post"]["security"] and "security" not in spec["paths"]["/route"]["post"]
    assert "input" in json.dumps(spec["paths"]["/route"]["post"]["requestBody"])


def test_healthz_reports_a_broken_store(tmp_path):
    db = tmp_path / "b.sqlite"
    base, proc = start_router(f"sqlite:///{db}", TOKEN)
    try:
        r = httpx.get(base + "/healthz", timeout=10)  # /route could not answer yet
        assert r.status_code == 503 and r.json()["active_arms"] == 0 and "no active arm" in r.json()["detail"]
        httpx.post(base + "/arms", json={"genome": {"instruction": "A"}, "production": True}, headers=AUTH, timeout=10)
        assert httpx.get(base + "/healthz", timeout=10).json() == {"ok": True, "store": "ok", "active_arms": 1}
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
        r = httpx.get(base + "/healthz", timeout=10)
        assert r.status_code == 503 and "schema_version 999" in r.json()["store"]
        with sqlite3.connect(db) as conn:
            conn.execute("DROP TABLE meta")
        r = httpx.get(base + "/healthz", timeout=10)
        assert r.status_code == 503 and "meta" in r.json()["store"]
        db.unlink()
        r = httpx.get(base + "/healthz", timeout=10)
        assert r.status_code == 503 and "no longer exists" in r.json()["store"]
    finally:
        proc.terminate()
        proc.wait(10)


# ---- staged rollout ------------------------------------------------------------------------------------
def _router(tmp_path, rollout: RolloutConfig, seed: int = 0, policy=None) -> Router:
    router = Router(ArmStore(f"sqlite:///{tmp_path}/r.sqlite"), policy or BetaTSConfig(), seed=seed, refresh_s=0.0,
                    rollout=rollout)
    router.add_arm("prod", {"instruction": "A"}, production=True)
    return router


def test_share_window_never_admits_over_cap():
    rng = np.random.default_rng(0)
    window = ShareWindow(50)
    candidates = [(0, "prod", 1.0, True), (1, "new", 0.1, False), (2, "mid", 0.5, False)]
    for _ in range(2000):
        allowed = window.allowed(candidates, floor=0.2)
        choice = candidates[int(rng.choice(allowed))][1] if rng.random() < 0.9 else candidates[allowed[-1]][1]
        window.push(choice)
        assert window.share("new") <= 0.1 + 1e-12 and window.share("mid") <= 0.5 + 1e-12
        if len(window.recent) >= 10:
            assert window.share("prod") >= 0.2 - 1.0 / len(window.recent)


def test_ramp_caps_hold_and_advance_in_a_seeded_simulation(tmp_path):
    """The new arm is much better, so Thompson sampling wants all traffic: the cap is what holds it."""
    cfg = RolloutConfig(stages=[0.1, 0.5, 1.0], advance_after_pulls=60, window=200, production_floor=0.1)
    router = _router(tmp_path, cfg)
    router.add_arm("new", {"instruction": "B"})
    rng = np.random.default_rng(1)
    served, stage_of = {"prod": 0, "new": 0}, []
    for t in range(1500):
        d = router.route()
        served[d.arm_id] += 1
        stage = router.store.arm("new").stage
        stage_of.append(stage)
        cap = cfg.stages[min(stage, 2)]
        window_share = router.window.share("new")
        assert window_share <= max(cap, *(cfg.stages[s] for s in set(stage_of[-200:]))) + 1e-12
        router.reward(d.decision_id, float(rng.random() < (0.9 if d.arm_id == "new" else 0.3)))
        if stage == 0:
            assert served["new"] <= 0.1 * (t + 1) + 1e-12  # the first stage: never above 10% in total
    kinds = [(e["kind"], e["detail"].get("to")) for e in router.store.events("new")]
    assert kinds == [("added", None), ("advance", 1), ("advance", 2)]
    assert router.window.share("prod") >= 0.1 - 1e-12  # the production floor holds at full rollout
    assert router.window.share("new") > 0.8


@pytest.mark.parametrize("policy", [UniformConfig(kind="uniform"), EpsilonGreedyConfig(kind="epsilon_greedy", epsilon=0.5)],
                         ids=["uniform", "epsilon_greedy"])
def test_rollback_triggers_on_a_clearly_worse_arm(tmp_path, policy):
    """Thompson sampling alone starves a bad arm after a few pulls (13 of 600 here, before any rule
    could fire); policies that keep exploring keep feeding it, and the guardrail rolls it back once the
    evidence says it is worse than production."""
    cfg = RolloutConfig(stages=[0.5, 1.0], advance_after_pulls=10_000, min_pulls=20, rollback_margin=0.05,
                        rollback_probability=0.95, production_floor=0.1)
    router = _router(tmp_path, cfg, seed=3, policy=policy)
    router.add_arm("bad", {"instruction": "C"})
    rng = np.random.default_rng(2)
    for _ in range(600):
        d = router.route()
        router.reward(d.decision_id, float(rng.random() < (0.3 if d.arm_id == "bad" else 0.7)))
    bad = router.store.arm("bad")
    assert bad.stage == ROLLED_BACK
    events = [e for e in router.store.events("bad") if e["kind"] == "rollback"]
    assert len(events) == 1 and events[0]["detail"]["p_worse"] > 0.95 and events[0]["detail"]["versus"] == "prod"
    after = [router.route().arm_id for _ in range(200)]
    assert set(after) == {"prod"}
    status = {r["arm_id"]: r for r in router.status()}
    assert status["bad"]["stage"] == "rolled back" and status["bad"]["cap"] == 0.0
    lo, hi = status["prod"]["ci95"]
    assert lo < status["prod"]["mean_reward"] < hi and status["prod"]["p_best"] > 0.9
    assert lo < status["prod"]["posterior_mean"] < hi  # the interval is around the posterior mean it is printed with


def test_a_barely_pulled_arm_shows_the_posterior_mean_inside_its_interval(tmp_path):
    """One pull rewarded 1.0: observed mean 1.000, posterior Beta(2, 1) with mean 0.67 inside [0.16, 0.99]
    (printing 1.000 beside that interval read as a contradiction)."""
    router = _router(tmp_path, RolloutConfig(stages=[1.0], advance_after_pulls=10_000, min_pulls=30), seed=1)
    decision = router.route()
    router.reward(decision.decision_id, 1.0)
    row = {r["arm_id"]: r for r in router.status()}[decision.arm_id]
    lo, hi = row["ci95"]
    assert row["mean_reward"] == 1.0 and hi < 1.0
    assert lo < row["posterior_mean"] < hi and abs(row["posterior_mean"] - 2 / 3) < 0.03


def test_a_good_arm_is_not_rolled_back(tmp_path):
    cfg = RolloutConfig(stages=[0.5, 1.0], advance_after_pulls=10_000, min_pulls=30)
    router = _router(tmp_path, cfg, seed=4)
    router.add_arm("same", {"instruction": "D"})
    rng = np.random.default_rng(5)
    for _ in range(600):
        d = router.route()
        router.reward(d.decision_id, float(rng.random() < 0.6))
    assert router.store.arm("same").stage == 0


def test_version_1_store_is_migrated_in_place(tmp_path):
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript("""
            CREATE TABLE meta (key VARCHAR(64) PRIMARY KEY, value TEXT);
            INSERT INTO meta VALUES ('schema_version', '1');
            CREATE TABLE arms (id VARCHAR(64) PRIMARY KEY, position INTEGER NOT NULL, label VARCHAR(200) NOT NULL,
                genome TEXT NOT NULL, production BOOLEAN NOT NULL, active BOOLEAN NOT NULL, created_at FLOAT NOT NULL,
                retired_at FLOAT, n FLOAT NOT NULL, s FLOAT NOT NULL, ss FLOAT NOT NULL);
            INSERT INTO arms VALUES ('p', 0, '', '{"instruction": "A"}', 1, 1, 0, NULL, 10, 4, 4);
            INSERT INTO arms VALUES ('c', 1, '', '{"instruction": "B"}', 0, 1, 0, NULL, 5, 3, 3);
        """)
    store = ArmStore(f"sqlite:///{db}")
    arms = {a.id: a for a in store.arms()}
    assert arms["c"].stage >= 2 and (arms["p"].n, arms["c"].s) == (10, 3)  # old arms keep serving fully
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)


def test_version_2_store_gains_propensities_and_keeps_its_decisions(tmp_path):
    db = tmp_path / "v2.sqlite"
    store = ArmStore(f"sqlite:///{db}")
    store.add_arm("p", {"instruction": "A"}, production=True)
    store.record_decision("d-old", "p", {"lang": "en"})
    store.close()
    with sqlite3.connect(db) as conn:  # back to what version 2 wrote: no propensity column
        conn.execute("ALTER TABLE decisions DROP COLUMN propensity")
        conn.execute("ALTER TABLE decisions DROP COLUMN segment")
        conn.execute("DROP INDEX ix_decisions_episode_id")
        conn.execute("ALTER TABLE decisions DROP COLUMN episode_id")
        conn.execute("ALTER TABLE decisions DROP COLUMN holdout")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    store = ArmStore(f"sqlite:///{db}")
    store.record_decision("d-new", "p", None, 0.25)
    store.apply_reward("d-old", 1.0)
    store.apply_reward("d-new", 0.0)
    assert {r["decision_id"]: r["propensity"] for r in store.logs()} == {"d-old": None, "d-new": 0.25}
    store.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)


def test_group_commit_answers_each_reward_with_its_own_outcome(tmp_path):
    router = _router(tmp_path, RolloutConfig(enabled=False))
    decisions = [router.route() for _ in range(300)]
    ids = [d.decision_id for d in decisions] * 2 + ["nope"] * 10
    with ThreadPoolExecutor(32) as pool:
        outcomes = list(pool.map(lambda i: _outcome(router, i), ids))
    assert outcomes.count("ok") == 300 and outcomes.count("DuplicateReward") == 300
    assert outcomes.count("UnknownDecision") == 10
    assert router.store.arm("prod").n == 300 and router.store.writer.batches < 610


def _outcome(router, decision_id):
    try:
        router.reward(decision_id, 1.0)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__


def test_complete_routes_calls_the_model_and_can_be_rewarded(tmp_path):
    (tmp_path / "llm.yaml").write_text("kind: scripted\nresponses: {'2 + 3': 'Answer: 5'}\ndefault: 'no idea'\n")
    base, proc = start_router(f"sqlite:///{tmp_path}/c.sqlite", TOKEN, "--llm-config", str(tmp_path / "llm.yaml"))
    try:
        genome = PromptGenome(instruction="Add.", chain_of_thought=True)
        httpx.post(base + "/arms", json={"genome": genome.to_json(), "production": True}, headers=AUTH, timeout=10)
        # /complete spends model money: it needs the token (here the admin one)
        assert httpx.post(base + "/complete", json={"input": {"input": "2 + 3"}}, timeout=10).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert httpx.post(base + "/complete", json={"input": {"input": "2 + 3"}}, headers=wrong,
                          timeout=10).status_code == 403
        r = httpx.post(base + "/complete", json={"input": {"input": "2 + 3"}}, headers=AUTH, timeout=10)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["arm_id"] == genome.id and out["text"] == "Answer: 5" and out["answer"] == "5"
        assert httpx.post(base + "/reward", json={"decision_id": out["decision_id"], "reward": 1}, timeout=10).json()["ok"]
        assert httpx.post(base + "/complete", json={}, headers=AUTH, timeout=10).status_code == 422
    finally:
        proc.terminate()
        proc.wait(10)


def test_complete_without_a_model_says_how_to_configure_one(server):
    r = httpx.post(server + "/complete", json={"input": {"input": "1"}}, headers=AUTH, timeout=10)
    assert r.status_code == 501 and "--llm-config" in r.json()["detail"]


def test_stages_can_advance_by_time(tmp_path):
    cfg = RolloutConfig(stages=[0.1, 1.0], advance_after_pulls=None, advance_after_seconds=0.2)
    router = _router(tmp_path, cfg)
    router.add_arm("new", {"instruction": "B"})
    assert router.store.arm("new").stage == 0
    import time
    time.sleep(0.3)
    router.refresh()
    assert router.store.arm("new").stage == 1
    assert [e["kind"] for e in router.store.events("new")] == ["added", "advance"]


def test_rollout_config_errors_name_the_field():
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="stages must be increasing"):
        RolloutConfig(stages=[0.5, 0.2])
    with pytest.raises(ValidationError, match="advance_after"):
        RolloutConfig(advance_after_pulls=None)
