"""``llm_judge`` checks through the scripted backend: strict parsing, the position swap, ties,
self-consistency, caching, the judge budget role, and garbage as a failed check with category error."""
from __future__ import annotations

import json
import re

import pytest

from evo.budget import Budget, BudgetConfig
from evo.evaluation.evaluator import Evaluator
from evo.genome import PromptGenome
from evo.llm.cache import CachedBackend, ResponseCache
from evo.llm.scripted import ScriptedBackend
from evo.tasks.check_config import LLMJudgeConfig, build_check
from evo.tasks.llm_judge import pairwise_verdict, parse_reply, reply_schema
from evo.tasks.suite import Example, Task, TaskSuite

RUBRIC = {"kind": "llm_judge", "criteria": [{"name": "brief", "description": "one sentence", "weight": 1},
                                            {"name": "polite", "description": "says please", "weight": 3}]}


def judge_check(**cfg):
    return build_check(LLMJudgeConfig(**cfg))


def between(prompt: str, tag: str) -> str:
    return re.search(f"<{tag}>\n(.*?)\n</{tag}>", prompt, re.S).group(1)


def test_rubric_weights_criteria_on_the_scale_and_keeps_the_reason():
    judge = ScriptedBackend(lambda r: json.dumps({"scores": {"brief": 5, "polite": 1}, "reason": "not polite"}))
    result = judge_check(**RUBRIC).bound(judge)("Do it.", None, {"text": "ask nicely"})
    assert result.score == pytest.approx((1 * 1.0 + 3 * 0.0) / 4)
    assert not result.passed and result.category == "judge_low"
    assert "not polite" in result.message
    assert result.usage["calls"] == 1
    prompt = judge.requests[0].messages[0][1]
    assert "text: ask nicely" in prompt and "- polite: says please" in prompt and "<response>\nDo it.\n" in prompt
    assert json.loads(judge.requests[0].json_schema) == reply_schema(judge_check(**RUBRIC).options)


@pytest.mark.parametrize("reply", [
    "The answer is great, 5/5.",                                   # prose
    '{"scores": {"brief": 5}, "reason": "x"}',                    # a criterion missing
    '{"scores": {"brief": 9, "polite": 1}, "reason": "x"}',       # off the scale
    '{"scores": {"brief": true, "polite": 1}, "reason": "x"}',    # a boolean is not a score
    '[1, 2]',                                                      # not an object
    'Sure! {"scores": {"brief": 5, "polite": 5}, "reason": "x"}',  # text around the JSON
    "",
])
def test_garbage_from_the_judge_is_a_failed_check_with_category_error(reply):
    result = judge_check(**RUBRIC).bound(ScriptedBackend(lambda r: reply))("out", None, {})
    assert (result.score, result.passed, result.category) == (0.0, False, "error")
    assert "judge reply" in result.message
    assert result.usage["calls"] == 1


def test_a_fenced_json_reply_is_accepted():
    reply = '```json\n{"scores": {"brief": 5, "polite": 5}, "reason": "fine"}\n```'
    assert judge_check(**RUBRIC).bound(ScriptedBackend(lambda r: reply))("out", None, {}).passed


def test_a_failing_judge_call_is_an_error_and_counted():
    judge = ScriptedBackend(lambda r: "", fail_on=lambda r: True)
    result = judge_check(**RUBRIC).bound(judge)("out", None, {})
    assert result.category == "error" and "judge call failed" in result.message
    assert result.usage["errors"] == 1 and result.usage["calls"] == 1


def test_an_unbound_judge_check_says_it_has_no_model():
    result = judge_check(**RUBRIC)("out", None, {})
    assert result.category == "error" and "no judge model" in result.message


def test_reference_mode_shows_the_expected_answer():
    judge = ScriptedBackend(lambda r: json.dumps({"score": 4, "reason": "close"}))
    result = judge_check(kind="llm_judge", mode="reference").bound(judge)("Paris, France", "Paris", {"q": "c"})
    assert result.score == pytest.approx(0.75)
    assert between(judge.requests[0].messages[0][1], "reference") == "Paris"


def pairwise_judge(prefers: str | None, *, biased_to_a: bool = False):
    """Prefers the response containing ``prefers``; ``biased_to_a``: always says A (position bias)."""
    def reply(request):
        prompt = request.messages[0][1]
        if biased_to_a:
            winner = "A"
        elif prefers is None:
            winner = "tie"
        else:
            winner = "A" if prefers in between(prompt, "response_A") else "B"
        return json.dumps({"winner": winner, "reason": f"{winner} wins"})
    return ScriptedBackend(reply)


@pytest.mark.parametrize("prefers, biased, score", [("mine", False, 1.0), ("theirs", False, 0.0),
                                                    (None, False, 0.5), (None, True, 0.5)])
def test_pairwise_runs_both_orders_and_a_position_biased_judge_ties(prefers, biased, score):
    judge = pairwise_judge(prefers, biased_to_a=biased)
    result = judge_check(kind="llm_judge", mode="pairwise").bound(judge)("mine", "theirs", {"q": "x"})
    assert result.score == score
    assert result.usage["calls"] == 2
    first, second = (r.messages[0][1] for r in judge.requests)
    assert between(first, "response_A") == "mine" and between(second, "response_A") == "theirs"


def test_pairwise_verdict_table():
    assert pairwise_verdict("A", "B") == 1.0 and pairwise_verdict("B", "A") == 0.0
    assert {pairwise_verdict(a, b) for a, b in [("A", "A"), ("B", "B"), ("tie", "A"), ("tie", "tie")]} == {0.5}


def test_pairwise_against_an_input_field():
    judge = pairwise_judge("mine")
    result = judge_check(kind="llm_judge", mode="pairwise", against_field="baseline").bound(judge)(
        "mine", None, {"q": "x", "baseline": "theirs"})
    assert result.score == 1.0


def test_samples_take_the_median_and_skip_garbage_samples():
    replies = iter(['{"score": 1, "reason": "a"}', "garbage", '{"score": 5, "reason": "b"}',
                    '{"score": 4, "reason": "c"}'])
    judge = ScriptedBackend(lambda r: next(replies))
    check = judge_check(kind="llm_judge", mode="reference", samples=4, temperature=0.7).bound(judge)
    result = check("x", "y", {})
    assert result.score == pytest.approx(0.75)  # median of 0, 1, 0.75
    assert [r.sample_index for r in judge.requests] == [0, 1, 2, 3]
    assert {r.temperature for r in judge.requests} == {0.7}
    assert result.usage["calls"] == 4 and "median of 3" in result.message


def test_parse_reply_is_strict():
    schema = {"type": "object", "properties": {"winner": {"enum": ["A", "B", "tie"]}}, "required": ["winner"]}
    assert parse_reply(' {"winner": "A"} ', schema) == {"winner": "A"}
    for bad in ['{"winner": "C"}', '{"winner": "A"} and more', "```\n{\"winner\": \"A\"}"]:
        with pytest.raises(Exception, match="judge reply"):
            parse_reply(bad, schema)


def test_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="needs `criteria`"):
        LLMJudgeConfig(kind="llm_judge")
    with pytest.raises(ValueError, match="highest score"):
        LLMJudgeConfig(kind="llm_judge", mode="reference", scale=(5, 1))
    with pytest.raises(ValueError, match="for mode rubric"):
        LLMJudgeConfig(kind="llm_judge", mode="pairwise", criteria=RUBRIC["criteria"])


def judged_suite(n: int = 4, **cfg) -> TaskSuite:
    check = judge_check(**(cfg or RUBRIC))
    task = Task("t", "{q}", (check,))
    examples = tuple(Example(f"e{i}", "t", {"q": f"question {i}"}, f"answer {i}", "train") for i in range(n))
    return TaskSuite("judged", (task,), examples)


def test_judge_calls_are_cached_and_charged_to_the_judge_role(tmp_path):
    reply = json.dumps({"scores": {"brief": 5, "polite": 5}, "reason": "ok"})
    raw_judge = ScriptedBackend(lambda r: reply, name="judge")
    cache = ResponseCache(str(tmp_path / "c.sqlite"))
    suite = judged_suite().with_judge(CachedBackend(raw_judge, cache))
    task_model = ScriptedBackend(lambda r: "a reply")
    budget = Budget(BudgetConfig(max_calls=100))
    with Evaluator(task_model, suite, workers=2) as ev:
        first = ev.evaluate(PromptGenome(instruction="Answer."))
        second = ev.evaluate(PromptGenome(instruction="Answer."))
    assert first.pass_rate == 1.0 and raw_judge.calls == 4  # the second pass came from the cache
    assert second.judge_usage["calls"] == 4 and second.judge_usage["cached"] == 4
    budget.charge_batch(first)
    budget.charge_batch(second)
    usage = budget.state_dict()["usage"]
    assert usage["task"]["calls"] == 8 and usage["judge"]["calls"] == 8 and usage["judge"]["cached_calls"] == 4
    assert budget.total_calls == 16


def test_the_budget_affords_task_calls_with_their_judge_calls():
    budget = Budget(BudgetConfig(max_calls=10))
    budget.judge_calls_per_output = 2  # pairwise: two judge calls an output
    assert budget.affords(task_calls=3) and not budget.affords(task_calls=4)
    assert budget.remaining_task_calls() == 3


def test_judge_calls_per_output_counts_task_and_example_checks():
    suite = judged_suite(kind="llm_judge", mode="pairwise", samples=3)
    assert suite.judge_calls_per_output() == 6
    extra = judge_check(kind="llm_judge", mode="reference")
    examples = (suite.examples[0].__class__("x", "t", {"q": "?"}, "y", "val", (extra,)),)
    assert TaskSuite("s", suite.tasks, suite.examples + examples).judge_calls_per_output() == 7
    assert TaskSuite("s", (Task("t", "{q}", ()),), ()).judge_calls_per_output() == 0


def test_with_judge_binds_example_checks_too():
    extra = judge_check(kind="llm_judge", mode="reference")
    suite = TaskSuite("s", (Task("t", "{q}", ()),), (Example("x", "t", {"q": "?"}, "y", "train", (extra,)),))
    judge = ScriptedBackend(lambda r: '{"score": 5, "reason": "ok"}')
    bound = suite.with_judge(judge)
    assert bound.example("x").checks[0].judge is judge and suite.example("x").checks[0].judge is None
    with Evaluator(ScriptedBackend(lambda r: "y"), bound, workers=1) as ev:
        assert ev.evaluate(PromptGenome(instruction="Go.")).pass_rate == 1.0


def test_a_backend_error_of_the_task_model_makes_no_judge_call():
    judge = ScriptedBackend(lambda r: "{}")
    suite = judged_suite(2).with_judge(judge)
    failing = ScriptedBackend(lambda r: "", fail_on=lambda r: True)
    with Evaluator(failing, suite, workers=1) as ev:
        batch = ev.evaluate(PromptGenome(instruction="Go."))
    assert batch.n_errors == 2 and judge.calls == 0 and batch.judge_usage["calls"] == 0
