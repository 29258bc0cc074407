"""The router's HTTP service: a real `evo bandit serve` (uvicorn) process on 127.0.0.1."""
import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from evo.genome import PromptGenome
from tests.fake_servers import start_router

TOKEN = "test-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("http")
    base, proc = start_router(f"sqlite:///{tmp}/b.sqlite", TOKEN)
    yield base
    proc.terminate()
    proc.wait(10)


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def add(base, genome: PromptGenome, production=False, label=""):
    return httpx.post(base + "/arms", json={"genome": genome.to_json(), "production": production, "label": label},
                      headers=AUTH, timeout=10)


def test_admin_endpoints_need_the_token(server):
    g = PromptGenome(instruction="Answer.")
    assert httpx.post(server + "/arms", json={"genome": g.to_json()}, timeout=10).status_code == 401
    wrong = httpx.post(server + "/arms", json={"genome": g.to_json()}, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 403 and wrong.json()["detail"] == "wrong admin token"
    assert httpx.delete(server + "/arms/x", timeout=10).status_code == 401


def test_route_reward_arms_flow_and_bad_input(server):
    prod = PromptGenome(instruction="Answer.")
    cand = PromptGenome(instruction="Answer with the number only.")
    assert add(server, prod, production=True, label="production").status_code == 201
    r = add(server, cand, label="candidate")
    assert r.status_code == 201 and r.json()["arm_id"] == cand.id
    bad = httpx.post(server + "/arms", json={"genome": {"instruction": "x", "temperature": 9}}, headers=AUTH, timeout=10)
    assert bad.status_code == 422 and "not a valid prompt genome" in bad.json()["detail"]

    d = httpx.post(server + "/route", json={"features": {"lang": "en"}}, timeout=10).json()
    assert d["arm_id"] in (prod.id, cand.id) and d["genome"]["instruction"] in ("Answer.", "Answer with the number only.")
    assert httpx.post(server + "/reward", json={"decision_id": d["decision_id"], "reward": 1}, timeout=10).status_code == 200
    dup = httpx.post(server + "/reward", json={"decision_id": d["decision_id"], "reward": 1}, timeout=10)
    assert dup.status_code == 409 and "already rewarded" in dup.json()["detail"]
    unknown = httpx.post(server + "/reward", json={"decision_id": "nope", "reward": 1}, timeout=10)
    assert unknown.status_code == 404 and "unknown decision_id" in unknown.json()["detail"]
    d2 = httpx.post(server + "/route", timeout=10).json()
    out = httpx.post(server + "/reward", json={"decision_id": d2["decision_id"], "reward": 3}, timeout=10)
    assert out.status_code == 422 and "[0, 1]" in out.json()["detail"]
    assert httpx.post(server + "/reward", content=b"{not json", headers={"content-type": "application/json"},
                      timeout=10).status_code == 422
    assert httpx.post(server + "/reward", json={"decision_id": "x"}, timeout=10).status_code == 422
    assert httpx.post(server + "/route", json={"feature": 1}, timeout=10).status_code == 422

    arms = httpx.get(server + "/arms", timeout=10).json()
    assert arms["policy"] == "beta_ts" and {a["arm_id"] for a in arms["arms"]} == {prod.id, cand.id}
    assert sum(a["share"] for a in arms["arms"]) == pytest.approx(1.0)
    refused = httpx.delete(f"{server}/arms/{prod.id}", headers=AUTH, timeout=10)
    assert refused.status_code == 409 and "last active production arm" in refused.json()["detail"]
    assert httpx.delete(f"{server}/arms/ghost", headers=AUTH, timeout=10).status_code == 404
    assert "/route" in httpx.get(server + "/openapi.json", timeout=10).json()["paths"]


def test_concurrent_clients_counts_exact(server):
    before = {a["arm_id"]: a["pulls"] for a in httpx.get(server + "/arms", timeout=10).json()["arms"]}

    def one(_):
        with httpx.Client(timeout=30) as c:
            d = c.post(server + "/route").json()
            c.post(server + "/reward", json={"decision_id": d["decision_id"], "reward": 1.0}).raise_for_status()
            return d["arm_id"]
    with ThreadPoolExecutor(16) as pool:
        picks = list(pool.map(one, range(160)))
    after = {a["arm_id"]: a["pulls"] for a in httpx.get(server + "/arms", timeout=10).json()["arms"]}
    for arm_id in after:
        assert after[arm_id] - before.get(arm_id, 0) == picks.count(arm_id)


def test_oversized_bodies_and_features_get_413(server):
    big = {"features": {"x": "a" * (70 * 1024)}}
    r = httpx.post(server + "/route", json=big, timeout=10)
    assert r.status_code == 413 and "over 65536 bytes" in r.json()["detail"]

    def chunks():  # no content-length: the cap holds while the body streams in
        for _ in range(100):
            yield b"a" * 1024
    r = httpx.post(server + "/route", content=chunks(), headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 413
    r = httpx.post(server + "/route", json={"features": {"x": "a" * (20 * 1024)}}, timeout=10)
    assert r.status_code == 413 and "the limit is 16384" in r.json()["detail"]
    assert httpx.post(server + "/route", json={"features": {"x": 1}}, timeout=10).status_code == 200


def test_re_adding_an_arm_id_with_another_genome_is_a_conflict(server):
    a, b = PromptGenome(instruction="Variant A."), PromptGenome(instruction="Variant B.")
    body = {"arm_id": "conflict-arm", "genome": a.to_json()}
    assert httpx.post(server + "/arms", json=body, headers=AUTH, timeout=10).status_code == 201
    assert httpx.post(server + "/arms", json=body, headers=AUTH, timeout=10).status_code == 201  # same genome: idempotent
    other = {"arm_id": "conflict-arm", "genome": b.to_json()}
    r = httpx.post(server + "/arms", json=other, headers=AUTH, timeout=10)
    assert r.status_code == 409 and "different genome" in r.json()["detail"]
    kept = next(x for x in httpx.get(server + "/arms", timeout=10).json()["arms"] if x["arm_id"] == "conflict-arm")
    assert kept["instruction"] == "Variant A."
    r = httpx.post(server + "/arms", json={**other, "replace": True}, headers=AUTH, timeout=10)
    assert r.status_code == 201
    swapped = next(x for x in httpx.get(server + "/arms", timeout=10).json()["arms"] if x["arm_id"] == "conflict-arm")
    assert swapped["instruction"] == "Variant B." and swapped["pulls"] == 0


def test_decision_ids_are_unguessable(server):
    ids = [httpx.post(server + "/route", json={}, timeout=10).json()["decision_id"] for _ in range(20)]
    assert len(set(ids)) == 20 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    # no shared prefix or counter: consecutive ids share no structure
    assert len({i[:8] for i in ids}) == 20


def test_the_openapi_page_groups_endpoints_by_what_they_are_for(tmp_path):
    from fastapi.testclient import TestClient

    from bandit.policies import BetaTSConfig
    from bandit.router import Router
    from bandit.service import create_app
    from bandit.store import ArmStore

    app = create_app(Router(ArmStore(f"sqlite:///{tmp_path}/s.sqlite"), BetaTSConfig()), "t")
    spec = TestClient(app).get("/openapi.json").json()
    tags = {path: op["tags"] for path, ops in spec["paths"].items() for op in ops.values()}
    assert tags["/route"] == tags["/reward"] == tags["/complete"] == ["traffic"]
    assert tags["/arms"] == ["arms"] and tags["/healthz"] == tags["/metrics"] == ["operations"]
    assert {t["name"] for t in spec["tags"]} == {"traffic", "arms", "operations"}


def test_every_bandit_command_speaks_json(tmp_path, capsys):
    import json

    from evo.cli.main import main
    code = main(["bandit", "simulate", "--means", "0.2,0.8", "--horizon", "50", "--seeds", "2",
                 "--policies", "beta_ts,uniform", "--out", str(tmp_path / "sim"), "--no-mlflow", "--json"])
    out = capsys.readouterr().out
    assert code == 0 and set(json.loads(out)["final_regret"]) == {"beta_ts", "uniform"}
    store = f"sqlite:///{tmp_path}/s.sqlite"
    assert main(["bandit", "status", "--store", store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["arms"] == []
