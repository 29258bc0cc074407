"""The Anthropic backend (real SDK) against a local Messages-API server."""
import pytest

from evo.errors import BackendError, ConfigError
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.llm.anthropic_backend import AnthropicBackend, cache_min_tokens
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
    long_system = "Rules. " * 3000  # 21,000 characters: 5,250 tokens on the fake server's count
    b = backend(server)
    r1 = b.complete(LLMRequest(messages=(("user", "a"),), system=long_system))
    r2 = b.complete(LLMRequest(messages=(("user", "b"),), system=long_system))
    system = server.requests[0]["system"]
    assert isinstance(system, list) and system[0]["cache_control"] == {"type": "ephemeral"}
    assert r1.extra["cache_write_tokens"] == 1000 and r2.extra["cache_read_tokens"] == 1000
    assert r2.cost_usd < r1.cost_usd
    assert len(server.count_requests) == 1  # the prefix is counted once, then remembered


@pytest.mark.filterwarnings("ignore:The model:DeprecationWarning")
def test_few_shot_prefix_is_cached_by_token_count_per_model(server):
    demos = tuple(x for i in range(40) for x in (("user", f"Question {i}: " + "context " * 30), ("assistant", str(i))))
    request = LLMRequest(messages=demos + (("user", "the real question"),), system="Be terse.")
    tokens = backend(server).count_tokens(LLMRequest(messages=demos, system="Be terse."))
    assert cache_min_tokens("claude-sonnet-4-5") <= tokens < cache_min_tokens("claude-opus-4-5")
    AnthropicBackend("claude-sonnet-4-5", api_key="k", base_url=server.url).complete(request)
    AnthropicBackend("claude-opus-4-5", api_key="k", base_url=server.url).complete(request)
    sonnet, opus = server.requests
    assert sonnet["system"] == "Be terse." and sonnet["messages"][-1] == {"role": "user", "content": "the real question"}
    last_demo = sonnet["messages"][-2]["content"]
    assert isinstance(last_demo, list) and last_demo[0]["cache_control"] == {"type": "ephemeral"}
    assert all(isinstance(m["content"], str) for m in opus["messages"])  # under Opus 4.5's 4,096-token minimum


def test_short_prompts_are_never_counted_or_cached(server):
    backend(server).complete(REQ)
    assert server.count_requests == [] and server.requests[0]["system"] == "Be terse."


def test_extended_thinking_returns_only_the_answer(server):
    server.script.append(("content", [{"type": "thinking", "thinking": "Let me add.", "signature": "s"},
                                      {"type": "text", "text": "4"}]))
    resp = backend(server, thinking_budget_tokens=2048).complete(REQ)
    body = server.requests[0]
    assert resp.text == "4" and body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] == REQ.max_tokens + 2048


def test_batch_returns_what_single_calls_return_and_isolates_failures(server):
    requests = [LLMRequest(messages=(("user", f"{i} + 1"),), system="Be terse.", max_tokens=5) for i in range(4)]
    server.script.extend([("ok", "1"), ("status", 529), ("ok", "3"), ("expired",)])
    outcomes = backend(server, batch_poll_s=0.01).complete_batch(requests)
    assert [o.text for o in (outcomes[0], outcomes[2])] == ["1", "3"]
    assert isinstance(outcomes[1], BackendError) and "overloaded_error" in str(outcomes[1]) and outcomes[1].retryable
    assert isinstance(outcomes[3], BackendError) and "expired" in str(outcomes[3])
    single = backend(server).complete(requests[0])
    assert outcomes[0].cost_usd == pytest.approx(single.cost_usd / 2)  # batches are half price
    batch = next(iter(server.batches.values()))
    assert [r["params"]["messages"] for r in batch["requests"]] == [[{"role": "user", "content": f"{i} + 1"}] for i in range(4)]


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


def _comparable(record):
    data = record.to_json() if hasattr(record, "to_json") else dict(record.__dict__)
    for volatile in ("latency_s", "cost_usd", "cached", "error"):
        data.pop(volatile, None)
    return data


def test_batch_evaluation_gives_the_same_records_as_per_call_evaluation(server, add_suite):
    suite = load_suite(add_suite)
    examples = suite.split("val", "test")
    failing = 2  # the third request fails both ways: a 529 call, an overloaded_error batch entry
    assert len(examples) > failing + 1
    server.script.extend([("ok", "4")] * failing + [("status", 529)])
    with Evaluator(backend(server, max_retries=0), suite, workers=1) as ev:
        per_call = ev.evaluate(PromptGenome(), examples)
    server.script.extend([("ok", "4")] * failing + [("status", 529)])
    with Evaluator(backend(server, max_retries=0, batch_poll_s=0.01), suite, workers=1) as ev:
        batched = ev.evaluate_batched(PromptGenome(), examples)
    assert [_comparable(r) for r in batched.records] == [_comparable(r) for r in per_call.records]
    assert batched.records[failing].error and "529" in per_call.records[failing].error
    assert "overloaded_error" in batched.records[failing].error
    assert sum(r.passed for r in batched.records) == sum(r.passed for r in per_call.records)


def test_cli_eval_batch(server, add_suite, tmp_path, monkeypatch, capsys):
    import json

    from evo.cli.main import main
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    (tmp_path / "llm.yaml").write_text(f"kind: anthropic\nmodel: claude-opus-4-5\nbase_url: {server.url}\nbatch_poll_s: 0.01\n")
    code = main(["eval", str(add_suite), "--llm-config", str(tmp_path / "llm.yaml"), "--batch", "--no-cache",
                 "--split", "val", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and len(out["records"]) == len(load_suite(add_suite).split("val"))
    assert len(server.batches) == 1 and server.requests and len(server.requests) == len(out["records"])


def test_cli_eval_batch_needs_a_batch_backend(add_suite, capsys):
    from evo.cli.main import main
    assert main(["eval", str(add_suite), "--backend", "local", "--batch", "--no-cache", "--limit", "1"]) == 2
    assert "no batch API" in capsys.readouterr().err


def test_estimate_counts_task_prompt_tokens_with_the_api(server, monkeypatch):
    from experiments.config import resolve_experiment, validate
    from experiments.estimate import anthropic_token_counter, estimate

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    resolved = resolve_experiment(validate({
        "name": "est", "suites": ["arithmetic"], "strategies": {"evo": {"kind": "evolutionary"}},
        "task_model": {"kind": "anthropic", "model": "claude-opus-4-5", "base_url": server.url},
        "optimizer": {"kind": "scripted"}, "tracking": {"kind": "none"}}, "test"), {})
    counted = estimate(resolved, anthropic_token_counter(resolved.task_model))
    guessed = estimate(resolved)
    assert counted["tokens_counted"] and not guessed["tokens_counted"]
    assert len(server.count_requests) == 5 and counted["tokens"] != guessed["tokens"]
    assert counted["task_calls"] == guessed["task_calls"]
