"""Every backend of the project passes the shipped BackendConformance kit: scripted, the embedded
local model, and the Anthropic and OpenAI-compatible backends against local fake servers."""
import pytest

from evo.llm.anthropic_backend import AnthropicBackend
from evo.llm.openai_compat import OpenAICompatibleBackend
from evo.llm.scripted import ScriptedBackend
from evo.testing.backends import BackendConformance
from tests.fake_servers import ScriptedHTTPServer


class TestScripted(BackendConformance):
    def make_backend(self):
        return ScriptedBackend(lambda r: "5")

    def make_failing_backend(self, kind):
        return ScriptedBackend(lambda r: "5", fail_on=lambda r: True) if kind == "fatal" else None


@pytest.mark.model
class TestLocal(BackendConformance):
    concurrent_calls = 2

    def make_backend(self):
        from evo.llm.local import LocalBackend
        return LocalBackend()


@pytest.fixture
def fake(request):
    with ScriptedHTTPServer(request.param, default_text="5") as server:
        yield server


class _ServerBacked(BackendConformance):
    @pytest.fixture(autouse=True)
    def _server(self, fake):
        self.server = fake


@pytest.mark.parametrize("fake", ["openai"], indirect=True)
class TestOpenAICompatible(_ServerBacked):
    def make_backend(self):
        return OpenAICompatibleBackend(self.server.url, "tiny", max_retries=0)

    def make_failing_backend(self, kind):
        self.server.script.append(("status", 429 if kind == "retryable" else 401))
        return self.make_backend()


@pytest.mark.parametrize("fake", ["anthropic"], indirect=True)
class TestAnthropic(_ServerBacked):
    def make_backend(self):
        return AnthropicBackend("claude-haiku-4-5", api_key="sk-ant-test", base_url=self.server.url, max_retries=0)

    def make_failing_backend(self, kind):
        self.server.script.append(("status", 529 if kind == "retryable" else 400))
        return self.make_backend()
