"""The ``ifeval`` check wraps the IFEval checkers of ``if-verifiable``: ids and arguments checked at load,
the share of constraints followed as the score, the first one not followed as the message, and missing
NLTK data as an error (never a download)."""
from __future__ import annotations

import pytest

pytest.importorskip("if_verifiable")

from evo.errors import ConfigError  # noqa: E402
from evo.tasks.check_config import IFEvalConfig, build_check  # noqa: E402
from evo.tasks.loader import load_suite  # noqa: E402


def ifeval(*instructions, **kw):
    return build_check(IFEvalConfig(kind="ifeval", instructions=list(instructions), **kw))


BULLETS3 = {"id": "detectable_format:number_bullet_lists", "kwargs": {"num_bullets": 3}}
NO_COMMA = {"id": "punctuation:no_comma"}


@pytest.mark.parametrize("output, score", [("* a\n* b\n* c", 1.0), ("* a, b\n* c\n* d", 0.5), ("* a, b", 0.0)])
def test_score_is_the_share_of_constraints_followed(output, score):
    result = ifeval(BULLETS3, NO_COMMA)(output, None, {})
    assert result.score == score
    if score < 1:
        assert result.category == "format_violation" and result.message.startswith("not followed:")


def test_loose_accepts_what_strict_refuses():
    end = {"id": "startend:end_checker", "kwargs": {"end_phrase": "Bye."}}
    output = "Hello there. Bye.\n(footnote)"
    assert not ifeval(end)(output, None, {}).passed
    assert ifeval(end, loose=True)(output, None, {}).passed


@pytest.mark.parametrize("bad, message", [
    ({"id": "punctuation:no_commas"}, "did you mean"),
    ({"id": "detectable_format:number_bullet_lists"}, "needs ['num_bullets']"),
    ({"id": "punctuation:no_comma", "kwargs": {"x": 1}}, "takes no arguments"),
])
def test_bad_instructions_are_config_errors(bad, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        IFEvalConfig(kind="ifeval", instructions=[bad])


def test_a_checker_needing_missing_nltk_data_is_an_error_not_a_download(monkeypatch, tmp_path):
    monkeypatch.setenv("NLTK_DATA", str(tmp_path))
    check = ifeval({"id": "length_constraints:number_sentences", "kwargs": {"num_sentences": 2, "relation": "at least"}})
    result = check("One. Two.", None, {})
    if result.passed:
        pytest.skip("NLTK's punkt data is installed on this machine")
    assert result.category == "error" and "nltk" in result.message.lower()


def test_the_builtin_constraints_suite_loads_with_a_check_on_every_example():
    suite = load_suite("constraints")
    assert all(ex.checks for ex in suite.examples) and not suite.tasks[0].checks


def test_a_task_without_checks_needs_one_on_every_example(tmp_path):
    (tmp_path / "s.yaml").write_text("name: s\nchecks: []\nexamples:\n- {input: a, expected: a, checks: [{kind: exact}]}\n"
                                     "- {input: b, expected: b}\n")
    with pytest.raises(ConfigError, match="at least one check"):
        load_suite(tmp_path / "s.yaml")
