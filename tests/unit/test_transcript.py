"""The plain transcript a pretrained-only local model reads (evo.llm.transcript)."""
import pytest

from evo.llm.transcript import TURN_STOP, transcript_prompt, transcript_reply


def test_turns_become_labelled_lines_ending_in_an_open_assistant_turn():
    prompt = transcript_prompt([
        {"role": "system", "content": "Answer with a number."},
        {"role": "user", "content": "2 + 2"}, {"role": "assistant", "content": "4"},
        {"role": "user", "content": "3 + 3"},
    ])
    assert prompt == "Answer with a number.\n\nUser: 2 + 2\nAssistant: 4\nUser: 3 + 3\nAssistant:"


def test_the_next_user_turn_is_the_stop_so_a_reply_never_contains_it():
    prompt = transcript_prompt([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                {"role": "user", "content": "c"}])
    assert prompt.count(TURN_STOP) == 1  # every user turn after the first starts with it
    assert transcript_prompt([{"role": "user", "content": "q"}]).startswith("User: q")


def test_unknown_roles_are_refused_and_replies_are_trimmed():
    with pytest.raises(ValueError, match="tool"):
        transcript_prompt([{"role": "tool", "content": "x"}])
    assert transcript_reply(" 801\n\n") == "801"
