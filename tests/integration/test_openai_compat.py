import pytest

from evo.errors import BackendError
from evo.llm.base import LLMRequest
from evo.llm.openai_compat import OpenAICompatibleBackend
from tests.fake_servers import ScriptedHTTPServer

REQ = LLMRequest(messages=(("user", "hi"),), system="sys", max_tokens=4, seed=5)


def test_openai_compatible_roundtrip_and_retries():
    with ScriptedHTTPServer("openai", default_text="hello") as s:
        s.script.extend([("status", 503), ("ok", "hello")])
        b = OpenAICompatibleBackend(s.url + "/v1", "tiny", backoff_s=0.01)
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
