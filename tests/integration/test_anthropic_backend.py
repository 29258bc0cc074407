"""The Anthropic backend (real SDK) against a local Messages-API server."""
import pytest

from evo.errors import BackendError, ConfigError
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.llm.anthropic_backend import CACHE_MIN_SYSTEM_CHARS, AnthropicBackend
from evo.llm.base import LLMRequest
from evo.tasks.loader import load_suite
from tests.fake_servers import ScriptedHTTPServer

REQ = LLMRequest(messages=(("user", "2 + 2"),), system="Be terse.", max_tokens=5, temperature=0.0, stop=("\n\n", "END"))


@pytest.fixture
def server():
    with ScriptedHTTPServer("anthropic", default_text="4") as s:
        yield s


def backend(server, **kw):
    kw.setdefault("max_retries", 2)
    return AnthropicBackend("claude-opus-4-5", api_key="sk-test-secret", base_url=server.url, **kw)


def test_completion_usage_cost_and_request_shape(server):
    resp = backend(server).complete(REQ)
    assert resp.text == "4" and resp.input_tokens == 10 and resp.output_tokens == 2
    assert resp.cost_usd == pytest.approx((10 * 5 + 2 * 25) / 1e6)
    body, headers = server.requests[0], server.headers[0]
    assert body["model"] == "claude-opus-4-5" and body["system"] == "Be terse."
    assert body["messages"] == [{"role": "user", "content": "2 + 2"}]
    assert body["max_tokens"] == 5 and body["stop_sequences"] == ["END"]
    assert "sk-test-secret" in (headers.get("x-api-key", "") + headers.get("authorization", ""))
    assert "temperature" not in body


def test_temperature_is_sent_only_when_asked(server):
    backend(server, send_temperature=True).complete(LLMRequest(messages=(("user", "x"),), temperature=1.5))
    assert server.requests[0]["temperature"] == 1.0


@pytest.mark.parametrize("status", [429, 529, 500])
def test_sdk_retries_transient_errors(server, status):
    server.script.extend([("status", status), ("status", status), ("ok", "4")])
    assert backend(server).complete(REQ).text == "4"
    assert len(server.requests) == 3


def test_exhausted_retries_become_backend_error(server):
    server.script.extend([("status", 429)] * 3)
    with pytest.raises(BackendError) as info:
        backend(server).complete(REQ)
    assert info.value.retryable and info.value.status == 429 and "HTTP 429" in str(info.value)
    assert "sk-test-secret" not in str(info.value)


def test_bad_request_is_not_retried(server):
    server.script.append(("status", 400))
    with pytest.raises(BackendError) as info:
        backend(server).complete(REQ)
    assert not info.value.retryable and len(server.requests) == 1


def test_timeout(server):
    server.script.append(("sleep", 2.0, "late"))
    with pytest.raises(BackendError, match="timed out"):
        backend(server, max_retries=0, timeout_s=0.3).complete(REQ)


def test_long_system_prompt_uses_prompt_cache(server):
    long_system = "Rules. " * (CACHE_MIN_SYSTEM_CHARS // 6)
    b = backend(server)
    r1 = b.complete(LLMRequest(messages=(("user", "a"),), system=long_system))
    r2 = b.complete(LLMRequest(messages=(("user", "b"),), system=long_system))
    system = server.requests[0]["system"]
    assert isinstance(system, list) and system[0]["cache_control"] == {"type": "ephemeral"}
    assert r1.extra["cache_write_tokens"] == 1000 and r2.extra["cache_read_tokens"] == 1000
    assert r2.cost_usd < r1.cost_usd


def test_missing_key_is_a_config_error(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY: no Anthropic API key"):
        AnthropicBackend()


def test_evaluator_records_rate_limited_examples(server, add_suite):
    suite = load_suite(add_suite)
    server.script.extend([("status", 429)] * 1)
    with Evaluator(backend(server, max_retries=0), suite, workers=1) as ev:
        batch = ev.evaluate(PromptGenome(), suite.split("val"))
    assert batch.records[0].error and "429" in batch.records[0].error
    assert batch.records[1].error is None
