import pytest

from evo.errors import BackendError
from evo.llm.base import LLMRequest
from evo.llm.openai_compat import OpenAICompatibleBackend
from tests.fake_servers import ScriptedHTTPServer

REQ = LLMRequest(messages=(("user", "hi"),), system="sys", max_tokens=4, seed=5)


def test_openai_compatible_roundtrip_and_retries():
    with ScriptedHTTPServer("openai", default_text="hello") as s:
        s.script.extend([("status", 503), ("ok", "hello")])
        b = OpenAICompatibleBackend(s.url + "/v1", "tiny")
        r = b.complete(REQ)
        assert r.text == "hello" and r.input_tokens == 10
        body = s.requests[-1]
        assert body["messages"][0] == {"role": "system", "content": "sys"} and body["seed"] == REQ.effective_seed
        s.script.extend([("status", 429)] * 3)
        with pytest.raises(BackendError, match="after 2 retries"):
            b.complete(REQ)
        s.script.append(("status", 401))
        with pytest.raises(BackendError, match="HTTP 401"):
            b.complete(REQ)


def test_openai_compatible_timeout():
    with ScriptedHTTPServer("openai") as s:
        s.script.append(("sleep", 1.5, "late"))
        b = OpenAICompatibleBackend(s.url, "tiny", timeout_s=0.2, max_retries=0)
        with pytest.raises(BackendError, match="timed out"):
            b.complete(REQ)


def test_non_string_content_is_a_failed_example_and_never_cached(tmp_path, add_suite):
    """A number (or a non-text object) as message content: a recorded failed example (category error);
    nothing is written to the cache, so a rerun asks again and caches the good answer. A list of text
    parts is well-formed and joined."""
    from evo.evaluation.evaluator import Evaluator
    from evo.genome import PromptGenome
    from evo.llm.cache import CachedBackend, ResponseCache
    from evo.tasks.loader import load_suite
    suite = load_suite(add_suite)
    example = suite.split("test")[:1]
    with ScriptedHTTPServer("openai", default_text="3") as s:
        cache = ResponseCache(tmp_path / "c.sqlite")
        backend = CachedBackend(OpenAICompatibleBackend(s.url, "tiny", max_retries=0), cache)
        evaluator = Evaluator(backend, suite, workers=1)
        genome = PromptGenome(instruction="Add.")
        for bad in (42, {"text": "x"}, [{"type": "text", "text": 5}]):
            s.script.append(("content", bad))
            rec = evaluator.evaluate(genome, example).records[0]
            assert rec.error and "malformed response" in rec.error and rec.category == "error", rec
            assert len(cache) == 0
        s.script.append(("garbage", b"<html>oops</html>"))
        assert "malformed response" in evaluator.evaluate(genome, example).records[0].error
        s.script.append(("content", [{"type": "text", "text": "1"}, {"type": "text", "text": "0"}]))
        rec = evaluator.evaluate(genome, example).records[0]
        assert rec.error is None and rec.output == "10" and len(cache) == 1
        assert evaluator.evaluate(genome, example).records[0].cached  # the good answer replays
