"""Property-based fuzzing of every file a user (or somebody else) hands to evo: suites, example files,
prompt/genome files, templates, run configs and experiment configs (issue 24, defense 11).

The property, for any input: evo either succeeds, or exits 2 with exactly one error line naming the
file (or the flag) at fault. Never an internal error (exit 3), never a traceback, never a hang (a
SIGALRM guard fails the example after ``HANG_S``). Inputs are built from the schemas' own vocabulary
(so they reach deep validation, not just the YAML parser) mixed with hostile values: huge and
non-finite numbers, bools for numbers, deep nesting, template syntax, duplicate keys, raw byte edits.

``make test`` runs the bounded ``ci`` profile; ``make fuzz`` the long one (``tests/fuzz/conftest.py``).
"""
from __future__ import annotations

import contextlib
import io
import json
import signal
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import given, note
from hypothesis import strategies as st

HANG_S = 60
GOOD_JSONL = "".join(json.dumps({"id": f"e{i}", "input": {"a": i, "b": 1}, "expected": str(i + 1),
                                 "split": "train" if i < 6 else "val" if i < 8 else "test"}) + "\n" for i in range(10))
GOOD_SUITE = ("name: good\ninput_template: '{a} + {b}'\nexamples_file: good.jsonl\n"
              "checks: [{kind: numeric, strict: true}]\nseed_prompt: {instruction: Add., max_tokens: 8}\n")
CHECK_MODULE = ("def f(inputs, output, expected):\n    return output.strip() == str(expected)\n"
                "def g(inputs, output, expected):\n    raise RuntimeError('boom')\n"
                "def h(inputs, output, expected):\n    return {'not': 'a score'}\n")


class Hang(Exception):
    pass


@contextlib.contextmanager
def hang_guard(seconds: int = HANG_S):
    def fire(*_):
        raise Hang(f"no answer within {seconds} s")
    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    from evo.cli.main import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), hang_guard():
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def assert_clear_outcome(code: int, out: str, err: str, workdir: Path) -> None:
    note(f"exit {code}\nstderr: {err[-2000:]}")
    assert "Traceback" not in out + err, err
    assert "internal error" not in err, err
    assert code in (0, 2), (code, err)
    if code == 2:
        lines = [ln for ln in err.strip().splitlines() if not ln.startswith(("usage:", "  "))]
        assert len(lines) == 1, err
        assert lines[0].startswith("evo: error: "), lines[0]
        # names the file at fault (a path under the work dir or a file name) or the flag
        assert str(workdir) in lines[0] or any(n in lines[0] for n in (".yaml", ".jsonl", ".json", ".py", "--")), lines[0]


@pytest.fixture
def workdir(tmp_path_factory, monkeypatch):
    """A fresh directory per test function; examples overwrite its files."""
    d = tmp_path_factory.mktemp("fuzz")
    monkeypatch.chdir(d)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    (d / "good.jsonl").write_text(GOOD_JSONL)
    (d / "good.yaml").write_text(GOOD_SUITE)
    (d / "c.py").write_text(CHECK_MODULE)
    (d / "llm.yaml").write_text("kind: scripted\ndefault: '3'\n")
    return d


# ---- value strategies -----------------------------------------------------------------------------------
hostile_numbers = st.one_of(
    st.integers(), st.integers(min_value=10**30, max_value=10**400), st.just(2**64), st.just(-(2**63) - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.just(0), st.just(-1), st.just(1e308))
short_text = st.text(alphabet=string.ascii_letters + string.digits + " {}[]:!._-/\\'\"\n\t\x00é", max_size=20)
scalars = st.one_of(st.none(), hostile_numbers, short_text)
anything = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(short_text, inner, max_size=4)),
                        max_leaves=12)
templates = st.one_of(
    st.sampled_from(["{a} + {b}", "{a}", "{a.__class__}", "{a[0]}", "{b!r}", "{a:>99999}", "{}", "{0}", "{a",
                     "a}", "{{a}}", "{a}{a}", "{ a }", "{a.keys}", "{a!s:^10}", "", "{é}", "{a}{c}"]),
    st.text(alphabet="{}ab.[]!:0 rs^>", max_size=16))


def maybe(value_strategy):
    """The plausible value, or anything at all."""
    return st.one_of(value_strategy, anything)


CHECK_KINDS = ["exact", "normalized", "contains", "regex", "numeric", "choice", "json", "python", "bogus", None]
check_entries = st.fixed_dictionaries(
    {"kind": st.sampled_from(CHECK_KINDS)},
    optional={
        "pattern": maybe(st.sampled_from(["^\\d+$", "(a|aa)+$", "([a-z", "a" * 20000, "(?i)x"])),
        "value": maybe(short_text), "tolerance": hostile_numbers, "rel_tolerance": hostile_numbers,
        "weight": hostile_numbers, "strict": maybe(st.booleans()), "choices": maybe(st.lists(short_text, max_size=3)),
        "timeout_s": hostile_numbers, "import_timeout_s": hostile_numbers,
        "ref": st.sampled_from(["c.py:f", "c.py:g", "c.py:h", "c.py", "missing.py:f", "c.py:nope", ":", "", "x",
                                "json:loads", "../c.py:f", "/etc/passwd:f"]),
        "fields": maybe(st.lists(short_text, max_size=2)), "subset": anything, "name": maybe(short_text),
        "pick": maybe(st.sampled_from(["first", "last"])), "extra_key": anything,
    })
genome_fields = st.fixed_dictionaries({}, optional={
    "instruction": maybe(short_text), "temperature": hostile_numbers, "max_tokens": hostile_numbers,
    "chain_of_thought": maybe(st.booleans()), "demo_ids": maybe(st.lists(st.sampled_from(["e0", "e1", "e8", "e9", "zz"]),
                                                                            max_size=3)),
    "few_shot_k": hostile_numbers, "model": maybe(short_text), "placement": maybe(st.sampled_from(["system", "user"])),
    "output_format": maybe(short_text), "unknown_field": anything})
example_rows = st.fixed_dictionaries(
    {"id": maybe(st.sampled_from(["e0", "e1", "x"]))},
    optional={"input": maybe(st.fixed_dictionaries({"a": hostile_numbers, "b": hostile_numbers})),
              "expected": maybe(short_text), "split": maybe(st.sampled_from(["train", "val", "test", "dev"])),
              "checks": st.lists(check_entries, max_size=2), "task": maybe(short_text), "bogus": anything})
suite_docs = st.fixed_dictionaries({}, optional={
    "name": maybe(st.sampled_from(["s", "../../x", "a/b", "", ".", "ok-name"])),
    "description": maybe(short_text), "input_template": maybe(templates),
    "examples_file": maybe(st.sampled_from(["good.jsonl", "missing.jsonl", "c.py", "/dev/zero", "."])),
    "examples": st.lists(example_rows, max_size=4), "checks": st.lists(check_entries, max_size=3),
    "seed_prompt": maybe(genome_fields), "pass_threshold": hostile_numbers,
    "split": maybe(st.fixed_dictionaries({"train": hostile_numbers, "val": hostile_numbers, "test": hostile_numbers})),
    "tasks": st.lists(st.fixed_dictionaries({"name": maybe(short_text)}, optional={
        "checks": st.lists(check_entries, max_size=2), "input_template": maybe(templates),
        "examples_file": st.just("good.jsonl")}), max_size=2),
    "unknown": anything,
})


def text_edits(base: str):
    """``base`` with a few random character edits (insertions, deletions, substitutions)."""
    return st.lists(st.tuples(st.integers(0, len(base)), st.integers(0, 3),
                              st.text(alphabet=":{}[]-&*!|>#'\"\n \t,a1", max_size=3)), max_size=4).map(
        lambda edits: _apply(base, edits))


def _apply(base: str, edits) -> str:
    for pos, cut, ins in edits:
        pos = min(pos, len(base))
        base = base[:pos] + ins + base[pos + cut:]
    return base


def dump_yaml(doc) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


# ---- the fuzzers ---------------------------------------------------------------------------------------
EVAL = ["eval", "s.yaml", "--llm-config", "llm.yaml", "--no-cache"]


@pytest.mark.timeout(900)
@given(doc=suite_docs)
def test_fuzz_suite_files(workdir, doc):
    (workdir / "s.yaml").write_text(dump_yaml(doc))
    assert_clear_outcome(*run_cli(EVAL), workdir)


@pytest.mark.timeout(900)
@given(text=st.one_of(text_edits(GOOD_SUITE), st.sampled_from([
    "a: &a [1, 1]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b, *b]\n", "x: " + "[" * 5000, "{" * 3000, "- - - - -\n",
    "name: x\nname: y\n", "!!python/object:os.system {}\n", "name: !!binary aGVsbG8=\n", "\x00", "\ufeffname: x\n",
    "<<: *undefined\n"])))
def test_fuzz_suite_text(workdir, text):
    (workdir / "s.yaml").write_text(text)
    assert_clear_outcome(*run_cli(EVAL), workdir)


@pytest.mark.timeout(900)
@given(rows=st.lists(st.one_of(example_rows.map(lambda r: json.dumps(r, allow_nan=True)),
                               text_edits(GOOD_JSONL.splitlines()[0])), max_size=6))
def test_fuzz_example_files(workdir, rows):
    (workdir / "s.yaml").write_text("name: s\ninput_template: '{a} + {b}'\nexamples_file: e.jsonl\n"
                                    "checks: [{kind: numeric}]\n")
    (workdir / "e.jsonl").write_text("\n".join(rows) + "\n")
    assert_clear_outcome(*run_cli(EVAL), workdir)


@pytest.mark.timeout(900)
@given(doc=st.one_of(genome_fields.map(lambda g: json.dumps(g, allow_nan=True)),
                     text_edits('{"instruction": "Add.", "max_tokens": 8, "demo_ids": ["e0"]}')),
       suffix=st.sampled_from([".json", ".yaml", ".txt"]))
def test_fuzz_genome_files(workdir, doc, suffix):
    (workdir / f"g{suffix}").write_text(doc)
    argv = ["eval", "good.yaml", "--llm-config", "llm.yaml", "--no-cache", "--prompt-file", f"g{suffix}"]
    assert_clear_outcome(*run_cli(argv), workdir)


@given(template=templates, value=short_text)
def test_fuzz_templates(template, value):
    from evo.tasks.template import render_template, template_fields
    try:
        fields = template_fields(template)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    rendered = render_template(template, {f: value for f in fields})
    assert "object at 0x" not in rendered and "<built-in" not in rendered
    assert isinstance(rendered, str)


RUN_KEYS = {
    "budget": st.fixed_dictionaries({}, optional={"max_calls": hostile_numbers, "max_usd": hostile_numbers,
                                                  "max_wall_s": hostile_numbers, "patience": hostile_numbers,
                                                  "monitor_val": anything}),
    "strategy": st.fixed_dictionaries({"kind": st.sampled_from(["iterative", "evolutionary", "hybrid", "baseline", "x"])},
                                      optional={"n_candidates": hostile_numbers, "population_size": hostile_numbers,
                                                "keep": hostile_numbers, "generations": hostile_numbers,
                                                "selection": anything, "objectives": anything,
                                                "operators": anything, "target_score": hostile_numbers}),
    "task_model": st.fixed_dictionaries({"kind": st.sampled_from(["scripted", "local", "anthropic",
                                                                  "openai_compatible", "x"])},
                                        optional={"api_key_env": st.sampled_from(["MY_KEY", "sk-ant-api03-abcdefghijkl",
                                                                                  "", "A B", "1X"]),
                                                  "base_url": maybe(short_text), "model": maybe(short_text),
                                                  "max_retries": hostile_numbers, "timeout_s": hostile_numbers,
                                                  "default": anything, "responses": anything}),
    "optimizer": st.fixed_dictionaries({"kind": st.sampled_from(["scripted", "x"])}),
    "evaluator": st.fixed_dictionaries({"kind": st.sampled_from(["threads", "ray", "x"])},
                                       optional={"workers": hostile_numbers, "num_workers": hostile_numbers}),
    "cache": maybe(st.sampled_from([True, False, "c.sqlite", "/dev/null", "."])),
    "split_limits": anything, "seed": hostile_numbers, "suite": maybe(st.just("good.yaml")), "bogus": anything,
}


@given(doc=st.fixed_dictionaries({}, optional=RUN_KEYS))
def test_fuzz_run_configs(workdir, doc):
    from evo.api import resolve_run
    from evo.errors import EvoError
    from evo.run.spec import load_run_spec
    (workdir / "r.yaml").write_text(dump_yaml(doc))
    with hang_guard():
        try:
            spec = load_run_spec(workdir / "r.yaml")
            resolve_run("good.yaml", spec)
        except EvoError as exc:
            text = str(exc)
            note(text)
            assert "\n" not in text and ("r.yaml" in text or "good.yaml" in text or "--" in text), text
            assert "sk-ant-api03-abcdefghijkl" not in text  # a key typed in a config is not echoed


@given(doc=st.fixed_dictionaries({"name": maybe(st.sampled_from(["e", "../x", "a/b", ".", ""]))}, optional={
    **{k: v for k, v in RUN_KEYS.items() if k not in ("strategy", "suite", "seed")},
    "suites": maybe(st.lists(st.sampled_from(["good.yaml", "missing.yaml", "arithmetic"]), max_size=2)),
    "strategies": maybe(st.dictionaries(st.sampled_from(["i", "e", "baseline", "a b", "../x"]),
                                        RUN_KEYS["strategy"], max_size=2)),
    "seeds": maybe(st.lists(hostile_numbers, max_size=3)), "tracking": anything,
    "bootstrap_resamples": hostile_numbers, "parallel_runs": hostile_numbers, "output_dir": maybe(short_text)}))
def test_fuzz_experiment_configs(workdir, doc):
    from evo.errors import EvoError
    from experiments.config import load_experiment, resolve_experiment
    (workdir / "e.yaml").write_text(dump_yaml(doc))
    with hang_guard():
        try:
            resolve_experiment(load_experiment(workdir / "e.yaml"), env={})
        except EvoError as exc:
            note(str(exc))
            assert "\n" not in str(exc) and "e.yaml" in str(exc), str(exc)
