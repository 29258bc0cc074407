"""The router as an internet-facing service (issue 24, defense 9; docs/security.md).

Each test is one way a single client used to capture or stall the router on main 5298101: a huge reward,
an endless header, idle connections, unauthenticated model spending, stale credit after ``replace``,
decisions kept forever. Tests wait for the server's answer, never for a wall-clock interval to pass
(the read deadlines below are what the server enforces, not what the test sleeps).
"""
from __future__ import annotations

import math
import socket
import time

import httpx
import pytest

from bandit.policies import BetaTSConfig, GaussianTSConfig, build_policy
from bandit.router import Router
from bandit.store import ArmStore, VoidedDecision
from evo.genome import PromptGenome
from tests.fake_servers import start_router

TOKEN = "guard-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


# ---- rewards validated per policy ------------------------------------------------------------------------
def test_a_gaussian_router_refuses_rewards_outside_its_range(tmp_path):
    router = Router(ArmStore(f"sqlite:///{tmp_path}/g.sqlite"), GaussianTSConfig(kind="gaussian_ts", reward_range=(-10, 10)),
                    seed=0, refresh_s=0.0)
    router.add_arm("a", {"instruction": "A"}, production=True)
    router.add_arm("b", {"instruction": "B"})
    for bad in (1.7e308, -11, math.inf, math.nan, "x"):
        d = router.route()
        with pytest.raises(ValueError):
            router.reward(d.decision_id, bad)
    d = router.route()
    router.reward(d.decision_id, 9.5)  # inside the range: accepted
    assert all(math.isfinite(v) for arm in router.store.arms() for v in (arm.n, arm.s, arm.ss))


def test_policy_reward_ranges_are_validated():
    with pytest.raises(ValueError):
        BetaTSConfig(reward_range=(0, 2))  # Beta rewards live in [0, 1]
    with pytest.raises(ValueError):
        GaussianTSConfig(kind="gaussian_ts", reward_range=(5, 1))
    policy = build_policy(GaussianTSConfig(kind="gaussian_ts"))
    assert policy.check_reward("0.5") == 0.5
    policy.add_arm()
    with pytest.raises(ValueError, match="corrupt"):
        policy.load_state_dict({"n": [1.0], "s": [math.inf], "ss": [1.0], "active": [True]})
    with pytest.raises(ValueError, match="corrupt"):
        policy.load_state_dict({"n": [-1.0], "s": [0.0], "ss": [0.0], "active": [True]})


# ---- replace voids pending decisions; retention -----------------------------------------------------
def test_replacing_an_arm_voids_its_pending_decisions(tmp_path):
    router = Router(ArmStore(f"sqlite:///{tmp_path}/r.sqlite"), BetaTSConfig(), seed=0, refresh_s=0.0)
    router.add_arm("prod", {"instruction": "Old."}, production=True)
    pending = [router.route() for _ in range(5)]
    router.add_arm("prod", {"instruction": "New."}, production=True, replace=True)
    for d in pending:
        with pytest.raises(VoidedDecision):
            router.reward(d.decision_id, 1.0)
    assert router.store.arm("prod").n == 0  # the new prompt got no credit for the old one's traffic
    fresh = router.route()
    router.reward(fresh.decision_id, 1.0)
    assert router.store.arm("prod").n == 1
    replaced = [e for e in router.store.events("prod") if e["kind"] == "replaced"]
    assert replaced and "5" in str(replaced[-1])


def test_old_decisions_are_pruned(tmp_path):
    store = ArmStore(f"sqlite:///{tmp_path}/p.sqlite")
    router = Router(store, BetaTSConfig(), seed=0, refresh_s=0.0)
    router.add_arm("prod", {"instruction": "A"}, production=True)
    old = [router.route() for _ in range(3)]
    assert store.prune_decisions(older_than_s=3600) == 0
    assert store.prune_decisions(older_than_s=-1) == 3  # everything is older than "the future"
    from bandit.store import UnknownDecision
    with pytest.raises(UnknownDecision):
        router.reward(old[0].decision_id, 1.0)


# ---- a real server: deadlines, sizes, caps, tokens ------------------------------------------------------
@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("guards")
    (tmp / "llm.yaml").write_text("kind: scripted\ndefault: 'ok'\n")
    base, proc = start_router(f"sqlite:///{tmp}/g.sqlite", TOKEN, "--header-timeout", "1", "--body-timeout", "1",
                              "--max-header-bytes", "4096", "--max-connections-per-client", "8",
                              "--complete-per-minute", "3", "--llm-config", str(tmp / "llm.yaml"),
                              "--retain-decisions", "30")
    httpx.post(base + "/arms", json={"arm_id": "prod", "genome": PromptGenome(instruction="A.").to_json(),
                                     "production": True}, headers=AUTH, timeout=10)
    yield base
    proc.terminate()
    out = proc.communicate(timeout=10)[1].decode()
    assert "Traceback" not in out, out


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _status_line(sock: socket.socket) -> str:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def test_an_endless_header_gets_431_and_the_router_keeps_answering(guarded):
    sock = _connect(guarded)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    try:
        for _ in range(200):
            sock.sendall(b"X-Pad: " + b"a" * 1000 + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server closed the connection mid-header
    line = _status_line(sock)
    sock.close()
    assert line.startswith("HTTP/1.1 431"), line
    assert httpx.get(guarded + "/healthz", timeout=10).status_code == 200


def test_a_request_head_that_never_finishes_gets_408(guarded):
    sock = _connect(guarded)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # ...and never the blank line
    line = _status_line(sock)  # blocks until the server's 1 s header deadline answers
    sock.close()
    assert line.startswith("HTTP/1.1 408"), line


def test_a_body_that_trickles_in_gets_408(guarded):
    sock = _connect(guarded)
    sock.sendall(b"POST /route HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{")
    line = _status_line(sock)
    sock.close()
    assert line.startswith("HTTP/1.1 408"), line


def test_idle_connections_from_one_client_are_capped(guarded):
    socks = [_connect(guarded) for _ in range(8)]  # the cap: held open, sending nothing
    try:
        extra = _connect(guarded)
        line = _status_line(extra)
        extra.close()
        assert line.startswith("HTTP/1.1 429"), line
    finally:
        for s in socks:
            s.close()
    # once they close, the client is served again (the server may need a moment to see the closes)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(guarded + "/healthz", timeout=10).status_code == 200:
                break
        except httpx.HTTPError:
            pass
    else:
        pytest.fail("the router did not serve the client again")


def test_complete_needs_its_token_and_is_rate_limited(guarded):
    body = {"input": {"input": "1"}}
    assert httpx.post(guarded + "/complete", json=body, timeout=10).status_code == 401
    answers = [httpx.post(guarded + "/complete", json=body, headers=AUTH, timeout=10) for _ in range(5)]
    codes = [a.status_code for a in answers]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429], [a.text for a in answers]
    assert answers[3].headers.get("retry-after")


def test_features_that_would_break_the_store_are_422(guarded):
    for content in ('{"features": {"x": 18446744073709551616}}', '{"features": {"x": NaN}}',
                    '{"features": {"x": -1e400}}', '{"features": {"x": {"y": Infinity}}}'):
        r = httpx.post(guarded + "/route", content=content, headers={"content-type": "application/json"}, timeout=10)
        assert r.status_code == 422, (content, r.text)
    ok = httpx.post(guarded + "/route", json={"features": {"x": 2**63 - 1, "y": [1.5, "a"]}}, timeout=10)
    assert ok.status_code == 200, ok.text
