"""Test helpers: the toys shipped in ``evo.testing.toys`` plus file writers used by these tests."""
from __future__ import annotations

from evo.testing.toys import (arithmetic_suite, build_parts, keyword_task_model, pure_optimizer,  # noqa: F401
                              scripted_optimizer, tagged)


def write_add_suite(directory, n_train: int, n_val: int, n_test: int):
    """Write the addition suite of ``arithmetic_suite`` as YAML + JSONL files; return the YAML path."""
    import json

    rows = []
    for i in range(n_train + n_val + n_test):
        a, b = i % 7 + 1, (i * 3) % 5 + 1
        split = "train" if i < n_train else "val" if i < n_train + n_val else "test"
        rows.append(json.dumps({"id": f"e{i}", "input": {"a": a, "b": b}, "expected": str(a + b), "split": split}))
    (directory / "add.jsonl").write_text("\n".join(rows) + "\n")
    (directory / "add.yaml").write_text(
        "name: add\ndescription: Add two numbers; give the number only.\ninput_template: '{a} + {b}'\n"
        "examples_file: add.jsonl\nchecks: [{kind: numeric, strict: true}]\nseed_prompt: {instruction: Solve., max_tokens: 8}\n")
    return directory / "add.yaml"


TWO_STRATEGIES = ("  iterative: {kind: iterative, n_candidates: 2, max_train_iterations: 2, max_val_iterations: 1}\n"
                  "  evolutionary: {kind: evolutionary, population_size: 4, keep: 2, generations: 2, target_score: null}\n")


def write_experiment(path, name: str, suite, *, max_calls: int, strategies: str = TWO_STRATEGIES,
                     resamples: int = 100):
    """A small experiment config on scripted models (iterative + evolutionary by default), no tracking,
    results under ``path.parent / 'results'``; return ``path``."""
    path.write_text(f"name: {name}\nsuites: ['{suite}']\ntask_model: {{kind: scripted}}\noptimizer: {{kind: scripted}}\n"
                    f"strategies:\n{strategies}budget: {{max_calls: {max_calls}}}\ntracking: {{kind: none}}\n"
                    f"output_dir: '{path.parent}/results'\nbootstrap_resamples: {resamples}\n")
    return path


def run_cli(argv) -> tuple[int, str, str]:
    """``evo`` in-process: (exit code, stdout, stderr); argparse's SystemExit becomes its code."""
    import contextlib
    import io

    from evo.cli.main import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()
