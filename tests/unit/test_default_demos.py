"""A genome's ``few_shot_k`` without ``demo_ids`` means what ``--few-shot`` means (issue: a genome file's
``few_shot_k: 3`` was silently ignored and scored 0/10 where ``--few-shot 3`` scored 6/10)."""
import argparse

from evo.cli.common import genome_from_args
from evo.evaluation.render import demo_examples
from evo.genome import PromptGenome
from evo.run.session import seed_genome_of, with_default_demos
from tests.helpers import arithmetic_suite


def _args(**kw):
    base = dict(prompt=None, prompt_file=None, system=None, placement=None, temperature=None, max_tokens=None,
                cot=None, few_shot=None)
    return argparse.Namespace(**{**base, **kw})


def test_few_shot_k_alone_shows_training_demos():
    suite = arithmetic_suite()
    genome = with_default_demos(PromptGenome(instruction="Add.", few_shot_k=3), suite)
    example = suite.split("val")[0]
    shown = demo_examples(genome, example, suite)
    assert [d.id for d in shown] == [e.id for e in suite.split("train")[:3]]


def test_a_genome_file_and_the_flag_mean_the_same(tmp_path):
    suite = arithmetic_suite()
    path = tmp_path / "g.yaml"
    path.write_text("instruction: Add.\nfew_shot_k: 3\n")
    from_file = genome_from_args(_args(prompt_file=path), suite)
    from_flag = genome_from_args(_args(prompt="Add.", few_shot=3), suite)
    assert from_file.content() == from_flag.content() and from_file.demo_ids


def test_explicit_demos_and_no_demos_are_kept():
    suite = arithmetic_suite()
    named = PromptGenome(few_shot_k=1, demo_ids=("train3",))
    assert with_default_demos(named, suite) == named
    assert with_default_demos(PromptGenome(), suite).demo_ids == ()
    assert seed_genome_of(suite).demo_ids == ()
