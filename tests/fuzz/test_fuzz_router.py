"""Schemathesis against a real ``evo bandit serve`` process: every operation of the router's OpenAPI
spec, with and without the bearer token (issue 24, defense 11).

Asserted for every generated request: no 500 (an unhandled error), and the status code, content type
and body match what the spec documents for that operation. The spec is the contract a client codes
against, so an undocumented status is a failure even when it is not a 5xx. ``make test`` runs the
bounded ``ci`` profile; ``make fuzz`` the long one (``tests/fuzz/conftest.py``).
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import settings
from schemathesis.checks import (content_type_conformance, response_schema_conformance,
                                 status_code_conformance)

from evo.genome import PromptGenome
from tests.fake_servers import start_router

TOKEN = "fuzz-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def router_url(tmp_path_factory):
    import httpx
    tmp = tmp_path_factory.mktemp("fuzz-router")
    (tmp / "llm.yaml").write_text("kind: scripted\ndefault: 'Answer: 3'\n")
    base, proc = start_router(f"sqlite:///{tmp}/f.sqlite", TOKEN, "--llm-config", str(tmp / "llm.yaml"),
                              "--complete-per-minute", "1000000")
    for i, production in ((0, True), (1, False)):
        httpx.post(base + "/arms", json={"arm_id": f"arm{i}", "genome": PromptGenome(instruction=f"P{i}.").to_json(),
                                         "production": production}, headers=AUTH, timeout=10)
    yield base
    proc.terminate()
    stderr = proc.communicate(timeout=10)[1].decode()
    assert "Traceback" not in stderr, stderr


def router_openapi() -> dict:
    """The spec the server serves, built from the app at import (parametrize needs it at collection;
    ``schemathesis.pytest.from_fixture`` does not work with pytest 9). ``test_the_live_spec_is_this_one``
    checks the running server serves exactly this."""
    import tempfile
    from pathlib import Path

    from bandit.policies import BetaTSConfig
    from bandit.router import Router
    from bandit.service import create_app
    from bandit.store import ArmStore
    with tempfile.TemporaryDirectory() as tmp:
        router = Router(ArmStore(f"sqlite:///{Path(tmp) / 's.sqlite'}"), BetaTSConfig(), seed=0)
        try:
            return create_app(router, TOKEN).openapi()
        finally:
            router.store.close()


SPEC = router_openapi()
schema = schemathesis.openapi.from_dict(SPEC)


def test_the_live_spec_is_this_one(router_url):
    import httpx
    assert httpx.get(router_url + "/openapi.json", timeout=10).json() == SPEC


def _check(case, router_url, headers):
    response = case.call(base_url=router_url, headers=headers, timeout=30)
    assert response.status_code != 500, (case.method, case.path, response.text[:500])
    if case.method.upper() != case.operation.method.upper():  # schemathesis probing an unsupported method
        assert response.status_code == 405, (case.method, case.path, response.status_code)
        return
    documented = set(case.operation.definition.raw.get("responses", {}))
    assert str(response.status_code) in documented or "default" in documented, \
        (case.method, case.path, response.status_code, sorted(documented), response.text[:300])
    case.validate_response(response, checks=CHECKS)


@pytest.mark.timeout(1800)
@schema.parametrize()
@settings(parent=settings.default)
def test_router_with_the_token(case, router_url):
    _check(case, router_url, AUTH)


@pytest.mark.timeout(1800)
@schema.parametrize()
@settings(parent=settings.default)
def test_router_without_a_token(case, router_url):
    _check(case, router_url, {})
