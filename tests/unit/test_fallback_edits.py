"""Fallback edits of the iterative strategy: chosen from failure categories, largest first, never repeated."""
from evo.genome import PromptGenome
from evo.optimizer.fallback import ANSWER_ONLY, fallback_edits

TRAIN = [f"e{i}" for i in range(10)]


def test_edits_follow_the_largest_category_first():
    g = PromptGenome(instruction="Solve.")
    edits = fallback_edits(g, {"wrong_answer": ["e1", "e2", "e3", "e4"], "verbosity": ["e5"]}, TRAIN, set())
    first, why = edits[0]
    assert first.demo_ids == ("e1", "e2", "e3") and first.few_shot_k == 3 and "wrong_answer" in why
    assert any(ANSWER_ONLY in e.instruction for e, _ in edits)
    assert all(e.parents == (g.id,) and e.operator == "iterative_fallback" for e, _ in edits)
    assert len({e.id for e, _ in edits}) == len(edits) and g.id not in {e.id for e, _ in edits}


def test_each_category_has_its_edit():
    g = PromptGenome(instruction="Solve.", max_tokens=16, few_shot_k=2, demo_ids=("e0", "e1"))
    by = lambda failing: [why for _, why in fallback_edits(g, failing, TRAIN, set())]
    assert "twice the max_tokens (empty_output)" in by({"empty_output": ["e3"]})
    assert by({"verbosity": ["e3"]})[0] == "answer-only constraint (verbosity)"
    assert by({"format_violation": ["e3"]})[:2] == ["format constraint (format_violation)",
                                                   "failing examples as demos (format_violation)"]
    assert by({"copied_demo": ["e3"]})[:2] == ["other demos (copied_demo)", "no demos (copied_demo)"]
    assert by({})[0] == "instruction in the system turn"  # nothing specific: settings still move


def test_tried_genomes_are_never_proposed_again():
    g = PromptGenome(instruction="Solve.")
    failing = {"verbosity": ["e1"], "wrong_answer": ["e2"]}
    first = fallback_edits(g, failing, TRAIN, set())
    again = fallback_edits(g, failing, TRAIN, {e.id for e, _ in first[:2]})
    assert [e.id for e, _ in again] == [e.id for e, _ in first[2:]]
