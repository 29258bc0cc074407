"""Label-balanced demo orders (evo.operators.demo_order) and where they are used."""
import numpy as np

from evo.genome import PromptGenome
from evo.operators.demo_credit import DemoCredit
from evo.operators.demo_order import answer_label, balance_labels, is_label_set
from evo.operators.structural import structural_variants
from evo.tasks.suite import Example


def test_label_sets_are_few_repeated_answers():
    assert is_label_set(["yes"] * 6 + ["no"] * 2)
    assert not is_label_set(["yes"] * 8)  # one label: nothing to balance
    assert not is_label_set([str(i) for i in range(8)])  # free-form answers
    assert answer_label("  Not   Plausible ") == "not plausible"


def test_balance_interleaves_labels_per_task_and_keeps_free_form_tasks():
    ids = ["a1", "a2", "a3", "b1", "a4", "f1", "f2", "b2", "a5", "b3", "a6", "a7", "a8", "f3"]
    task_of = {i: ("free" if i.startswith("f") else "cls") for i in ids}
    label_of = {i: ("yes" if i.startswith("a") else "no" if i.startswith("b") else i) for i in ids}
    out = balance_labels(ids, task_of, label_of)
    assert sorted(out) == sorted(ids)
    cls = [i for i in out if task_of[i] == "cls"]
    assert cls[:6] == ["a1", "b1", "a2", "b2", "a3", "b3"]  # alternating while both labels last
    assert [out.index(f) for f in ("f1", "f2", "f3")] == [ids.index(f) for f in ("f1", "f2", "f3")]


def test_balance_can_fail_to_change_anything():
    ids = ["a", "b", "c", "d"]
    task_of = dict.fromkeys(ids, "t")
    assert balance_labels(ids, task_of, {"a": "1", "b": "2", "c": "3", "d": "4"}) == ids
    assert balance_labels(ids, task_of, {}) == ids


def _suite_examples(n=40, majority=0.75):
    return [Example(id=f"e{i}", task="t", inputs={"question": f"q{i}"},
                    expected="no" if i < majority * n else "yes", split="train") for i in range(n)]


def test_structural_demos_show_both_labels_of_a_skewed_split():
    examples = _suite_examples()
    by_id = {e.id: e for e in examples}
    seed = PromptGenome(instruction="Answer.")
    for r in range(5):
        variants = dict((how, g) for g, how in structural_variants(seed, examples, np.random.default_rng(r)))
        for how, k in (("structure:demos3", 3), ("structure:demos5", 5)):
            shown = {by_id[i].expected for i in variants[how].demo_ids[:k]}
            assert shown == {"yes", "no"}, (r, how)


def test_demo_credit_orders_are_balanced_when_labels_are_known():
    examples = _suite_examples()
    credit = DemoCredit({e.id: e.task for e in examples}, label_of={e.id: e.expected for e in examples})
    plain = DemoCredit({e.id: e.task for e in examples})
    by_id = {e.id: e.expected for e in examples}
    rng = np.random.default_rng(0)
    for _ in range(5):
        assert {by_id[i] for i in credit.order([e.id for e in examples], rng)[:2]} == {"yes", "no"}
    # without labels the first two are often the majority label alone
    firsts = [tuple(by_id[i] for i in plain.order([e.id for e in examples], rng)[:2]) for _ in range(20)]
    assert ("no", "no") in firsts


def test_structural_demo_counts_cover_every_label():
    examples = _suite_examples()
    seed = PromptGenome(instruction="Answer.")
    hows = [how for _, how in structural_variants(seed, examples, np.random.default_rng(0))]
    assert "structure:demos1" not in hows and {"structure:demos2", "structure:demos3", "structure:demos5"} <= set(hows)
    free = [Example(id=f"e{i}", task="t", inputs={"question": f"q{i}"}, expected=str(i), split="train")
            for i in range(40)]
    assert "structure:demos1" in [how for _, how in structural_variants(seed, free, np.random.default_rng(0))]
