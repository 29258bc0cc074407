"""Evaluator: order, parallelism, per-example failures, rendering, feedback."""
import pytest
import threading
import time

from evo.errors import BackendError
from evo.evaluation.evaluator import Evaluator
from evo.evaluation.feedback import build_feedback
from evo.evaluation.render import COT_DIRECTIVE, extract_answer, render_request
from evo.genome import PromptGenome
from evo.llm.scripted import ScriptedBackend
from evo.tasks.loader import load_suite
from tests.conftest import adder


def test_records_in_input_order_with_parallel_workers(add_suite):
    suite = load_suite(add_suite)

    def slow_adder(r):
        time.sleep(0.01 * (hash(r.messages[-1][1]) % 3))
        return adder(r)
    with Evaluator(ScriptedBackend(slow_adder), suite, workers=8) as ev:
        batch = ev.evaluate(PromptGenome())
    assert [r.example_id for r in batch.records] == [e.id for e in suite.examples]
    assert batch.pass_rate == 1.0 and batch.n == 10


def test_backend_errors_and_garbage_are_recorded_not_raised(add_suite):
    suite = load_suite(add_suite)

    def flaky(r):
        last = r.messages[-1][1]
        if last.endswith("2 + 3"):
            raise BackendError("HTTP 529: overloaded", retryable=True)
        if last.endswith("3 + 4"):
            raise RuntimeError("backend bug")
        if last.endswith("4 + 5"):
            return "\x00\x01 garbage ###"
        return adder(r)
    with Evaluator(ScriptedBackend(flaky), suite, workers=3) as ev:
        batch = ev.evaluate(PromptGenome(), suite.split("train"))
    by_id = {r.example_id: r for r in batch.records}
    assert by_id["ex1"].error == "HTTP 529: overloaded" and by_id["ex1"].category == "error"
    assert "RuntimeError: backend bug" in by_id["ex2"].error
    assert not by_id["ex3"].passed and by_id["ex3"].error is None and by_id["ex3"].category == "format_violation"
    assert batch.n_passed == 3 and batch.n_errors == 2


def test_local_style_backend_is_serialized(add_suite):
    suite = load_suite(add_suite)
    active, peak = [0], [0]
    lock = threading.Lock()

    class OneAtATime(ScriptedBackend):
        max_concurrency = 1

        def complete(self, request):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.002)
            with lock:
                active[0] -= 1
            return super().complete(request)
    ev = Evaluator(OneAtATime(adder), suite, workers=8)
    assert ev.workers == 1
    ev.evaluate(PromptGenome())
    assert peak[0] == 1


def test_render_layout_placement_demos_and_cot(add_suite):
    suite = load_suite(add_suite)
    task, ex = suite.tasks[0], suite.example("ex7")
    g = PromptGenome(instruction="Add the numbers.", system="You are exact.", placement="user",
                     few_shot_k=2, demo_ids=("ex7", "ex0", "ex1", "ex2"), max_tokens=5, temperature=0.3)
    r = render_request(g, ex, task, suite, seed=3, sample_index=1)
    assert r.system == "You are exact."
    assert r.messages == (("user", "1 + 2"), ("assistant", "3"), ("user", "2 + 3"), ("assistant", "5"),
                          ("user", "Add the numbers.\n\n2 + 2"))
    assert (r.max_tokens, r.temperature, r.seed, r.sample_index) == (5, 0.3, 3, 1)
    s = render_request(g.replace(placement="system", few_shot_k=0, chain_of_thought=True), ex, task, suite)
    assert s.system == f"You are exact.\n\nAdd the numbers.\n{COT_DIRECTIVE}"
    assert s.messages == (("user", "2 + 2"),)


def test_extract_answer():
    assert extract_answer("  7 \n", False) == "7"
    assert extract_answer("2+2 is 4.\nAnswer: 4", True) == "4"
    assert extract_answer("answer: 3\nso... Answer: 5", True) == "5"
    assert extract_answer("reasoning\n42", True) == "42"
    assert extract_answer("", True) == ""


def test_cot_answer_is_what_checks_judge(add_suite):
    suite = load_suite(add_suite)
    backend = ScriptedBackend(lambda r: "Let me think step by step.\nAnswer: " + adder(r))
    with Evaluator(backend, suite, workers=1) as ev:
        batch = ev.evaluate(PromptGenome(chain_of_thought=True), suite.split("test"))
    assert batch.pass_rate == 1.0
    assert batch.records[0].output.startswith("Let me think") and batch.records[0].answer == "6"


def test_samples_repeat_each_example(add_suite):
    suite = load_suite(add_suite)
    backend = ScriptedBackend(adder)
    with Evaluator(backend, suite, workers=2) as ev:
        batch = ev.evaluate(PromptGenome(temperature=0.7), suite.split("val"), samples=3)
    assert [(r.example_id, r.sample_index) for r in batch.records] == [
        ("ex6", 0), ("ex6", 1), ("ex6", 2), ("ex7", 0), ("ex7", 1), ("ex7", 2)]
    assert len({(r.messages, r.effective_seed) for r in backend.requests}) == 6
    assert len({r.effective_seed for r in backend.requests}) == 3  # one seed per sample index


def test_feedback_groups_and_describes_failures(add_suite):
    suite = load_suite(add_suite)
    answers = {"1 + 2": "The answer is 3", "2 + 3": "The sum is 5 obviously", "3 + 4": "", "4 + 5": "8"}
    backend = ScriptedBackend(lambda r: answers.get(r.messages[-1][1], adder(r)))
    with Evaluator(backend, suite) as ev:
        batch = ev.evaluate(PromptGenome(), suite.split("train"))
    fb = build_feedback(batch, max_diffs=3)
    assert fb.headline == "2/6 passed"
    cats = {c.name: c for c in fb.categories}
    assert cats["verbosity"].count == 2 and cats["empty_output"].count == 1 and cats["wrong_answer"].count == 1
    assert any("contain the expected answer" in p for p in cats["verbosity"].patterns)
    assert any("words vs" in p for p in cats["verbosity"].patterns)
    # diffs are capped and cover different categories first
    assert len(fb.diffs) == 3 and len({d.category for d in fb.diffs}) == 3
    text = fb.to_text()
    assert "2/6 passed" in text and "verbosity: 2" in text and "expected: '3'" in text


def test_outputs_repeating_a_demo_are_flagged_copied_demo(add_suite):
    """A model that answers every input with its demo's answer: failures are `copied_demo`, and a pass
    that only repeats the demo (its expected answer happens to equal the demo's) is flagged too."""
    suite = load_suite(add_suite)
    demo = suite.example("ex5")  # 6 + 2 = 8; ex6 (7 + 1) also expects 8
    genome = PromptGenome(instruction="Add.", few_shot_k=1, demo_ids=(demo.id,))
    parrot = ScriptedBackend(lambda r: r.messages[1][1] if len(r.messages) > 1 else "")
    batch = Evaluator(parrot, suite, workers=1).evaluate(genome, suite.examples)
    by_id = {r.example_id: r for r in batch.records}
    assert not by_id["ex5"].copied_demo  # never shown itself as a demo
    for ex in suite.examples:
        if ex.id != "ex5":
            rec = by_id[ex.id]
            assert rec.copied_demo and rec.answer == "8"
            assert rec.category == (None if ex.expected == "8" else "copied_demo")
    assert by_id["ex6"].passed and by_id["ex6"].copied_demo
    assert batch.summary()["passed_copied_demo"] == 1
    feedback = build_feedback(batch)
    assert "(1 of them only repeat a demo's answer)" in feedback.headline
    assert feedback.categories[0].name == "copied_demo" and "repeats a few-shot demo" in feedback.categories[0].root_cause


def test_local_model_names():
    from evo.errors import ConfigError
    from evo.llm.local import DEFAULT_MODEL_NAME, local_model_path

    assert local_model_path(None) == local_model_path(DEFAULT_MODEL_NAME) == local_model_path("")
    with pytest.raises(ConfigError, match="unknown local model"):
        local_model_path("gpt-9")


def test_a_model_without_a_system_role_gets_the_system_text_in_the_first_user_turn():
    from evo.llm.base import LLMRequest
    from evo.llm.local import _chat_messages

    req = LLMRequest(messages=(("user", "2 + 2"), ("assistant", "4"), ("user", "3 + 3")), system="Add.")
    assert _chat_messages(req, system_role=True)[0] == {"role": "system", "content": "Add."}
    folded = _chat_messages(req, system_role=False)
    assert folded[0] == {"role": "user", "content": "Add.\n\n2 + 2"} and len(folded) == 3
    assert _chat_messages(LLMRequest(messages=(), system="Add."), system_role=False) == [{"role": "user", "content": "Add."}]
