"""Suite loading: both forms, splits, assertions, and one-line errors for bad input."""
import pytest

from evo.errors import ConfigError
from evo.tasks.loader import builtin_suites, load_suite


def test_single_task_jsonl(add_suite):
    suite = load_suite(add_suite)
    assert suite.name == "add" and [t.name for t in suite.tasks] == ["add"]
    assert suite.counts() == {"train": 6, "val": 2, "test": 2}
    ex = suite.example("ex0")
    assert suite.task("add").render_input(ex) == "1 + 2" and ex.expected == "3"
    assert suite.seed_prompt["instruction"] == "Add."


def test_multi_task_inline_with_ratio_split_is_seeded(write_suite):
    yaml = """
        name: multi
        split: {train: 0.5, val: 0.25, test: 0.25, seed: 7}
        tasks:
          - name: up
            examples: [%s]
            checks: [{kind: exact}]
          - name: low
            input_template: "word: {w}"
            examples: [%s]
            checks: [{kind: normalized, weight: 2}, {kind: regex, pattern: "^[a-z]+$"}]
    """ % (", ".join(f'{{input: "w{i}", expected: "W{i}"}}' for i in range(8)),
           ", ".join(f'{{input: {{w: "W{i}"}}, expected: "w{i}"}}' for i in range(8)))
    a = load_suite(write_suite(yaml))
    b = load_suite(write_suite(yaml, name="again.yaml"))
    assert [e.split for e in a.examples] == [e.split for e in b.examples]
    for task in ("up", "low"):
        splits = [e.split for e in a.examples if e.task == task]
        assert splits.count("train") == 4 and splits.count("val") == 2 and splits.count("test") == 2
    assert len(a.task("low").checks) == 2 and a.task("low").checks[0].weight == 2


def test_assertion_from_file(write_suite, tmp_path):
    (tmp_path / "asserts.py").write_text("def short(inputs, output, expected):\n    return len(output) < 5\n")
    suite = load_suite(write_suite("""
        name: s
        examples: [{input: "x", expected: "y"}]
        checks: [{kind: python, ref: "asserts.py:short"}]
    """))
    check = suite.tasks[0].checks[0]
    assert check("abc", "y", {}).passed and not check("abcdef", "y", {}).passed


def test_builtin_suites_are_big_enough():
    names = builtin_suites()
    open_ended = {"codegen", "constraints", "summarize"}  # an example is a whole function, text or rubric
    assert {"arithmetic", "dates", "numbers"} | open_ended <= set(names)
    for name in names:
        suite = load_suite(name)
        # enough examples that a held-out split says something
        assert len(suite.examples) >= (20 if name in open_ended else 60), name
        assert all(suite.counts()[s] > 0 for s in ("train", "val", "test"))


BAD_CASES = [
    ("name: [unclosed\n", None, "suite.yaml: line 2, column 1: invalid YAML"),
    ("- just\n- a list\n", None, "suite.yaml: a suite file must be a mapping"),
    ("name: s\nexamples: [{input: x, expected: y}]\nchecks: [{kind: exact}]\nbogus: 1\n", None,
     "suite.yaml: bogus: unknown field"),
    ("name: s\nchecks: [{kind: exact}]\n", None, "give exactly one of 'examples' or 'examples_file'"),
    ("name: s\nexamples: [{input: x, expected: y}]\nchecks: [{pattern: a}]\n", None,
     "suite.yaml: checks[0].kind: required field is missing"),
    ("name: s\nexamples: [{input: x}]\nchecks: [{kind: exact}]\n", None,
     "suite.yaml: examples[0].expected: required field is missing"),
    ("name: s\nexamples: [{input: x, expected: y}]\nchecks: [{kind: regexp, pattern: a}]\n", None,
     "suite.yaml: checks[0].kind: unknown kind 'regexp'; expected one of 'exact', 'normalized'"),
    ("name: s\nexamples: [{input: x, expected: y}]\nchecks: [{kind: regex, pattern: '('}]\n", None,
     "checks[0].regex.pattern: invalid regular expression"),
    ("name: s\nexamples: [{input: x, expected: y}]\nchecks: [{kind: numeric, tolerance: lots}]\n", None,
     "checks[0].numeric.tolerance: Input should be a valid number"),
    ("name: s\nexamples: [{input: x, expected: y}]\nchecks: [{kind: python, ref: 'no_such_mod_xyz:f'}]\n", None,
     "suite.yaml: checks[0].ref: cannot import module 'no_such_mod_xyz'"),
    ("name: s\nexamples: [{input: x, expected: y}]\nchecks: [{kind: python, ref: 'json:nope'}]\n", None,
     "checks[0].ref: 'json' has no callable 'nope'"),
    ("name: s\ninput_template: '{q}'\nexamples: [{input: {x: 1}, expected: y}]\nchecks: [{kind: exact}]\n", None,
     "suite.yaml: examples[0]: input lacks field(s) ['q'] used by input_template"),
    ("name: s\nexamples_file: d.jsonl\nchecks: [{kind: exact}]\n", ['{"input": "a", "expected": "b"}', "{oops"],
     "d.jsonl: line 2: invalid JSON"),
    ("name: s\nexamples_file: d.jsonl\nchecks: [{kind: exact}]\n", ['{"input": "a"}'],
     "d.jsonl: line 1: expected: required field is missing"),
    ("name: s\nexamples_file: d.jsonl\nchecks: [{kind: exact}]\n", ['{"input": "a", "expected": 1, "spilt": "train"}'],
     "d.jsonl: line 1: spilt: unknown field"),
    ("name: s\nexamples_file: missing.jsonl\nchecks: [{kind: exact}]\n", None,
     "examples_file: examples file 'missing.jsonl' does not exist"),
    ("name: s\nexamples: [{input: x, expected: y}]\n", None, "checks: a task needs at least one check"),
    ("name: s\nexamples: [{id: a, input: x, expected: y}, {id: a, input: z, expected: y}]\nchecks: [{kind: exact}]\n",
     None, "duplicate example id 'a'"),
    ("name: s\nsplit: {train: 0.5, val: 0.5, test: 0.5}\nexamples: [{input: x, expected: y}]\nchecks: [{kind: exact}]\n",
     None, "split: train + val + test must sum to 1"),
]


@pytest.mark.parametrize("yaml_text,jsonl,message", BAD_CASES)
def test_bad_suites_give_one_line_errors(write_suite, yaml_text, jsonl, message):
    path = write_suite(yaml_text, {"d.jsonl": jsonl} if jsonl else None)
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    text = str(info.value)
    assert "\n" not in text
    assert message in text, text


def test_unknown_suite_name_lists_builtins():
    with pytest.raises(ConfigError, match="built-ins: arithmetic"):
        load_suite("no-such-suite")
