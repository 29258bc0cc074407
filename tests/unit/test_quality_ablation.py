"""The quality benchmark's ablation rows (``--ablation NAME JSON``): our rows run as ``<row>+NAME``."""
import pytest

from benchmarks.quality.run import is_ours, main


def test_framework_rows_include_ablations_and_unscreened_twins():
    assert all(is_ours(r) for r in ("iterative", "hybrid-unscreened", "evolutionary+anytime"))
    assert not any(is_ours(r) for r in ("seed", "reference", "miprov2-plain", "gepa-standalone"))


@pytest.mark.parametrize("fragment, says", [("{not json", "not JSON"), ("[1]", "a JSON object")])
def test_a_bad_fragment_is_one_clear_error(fragment, says, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--ablation", "x", fragment, "--table-only", "--out", str(tmp_path)])
    assert says in capsys.readouterr().err


def test_table_only_names_the_ablation_rows(tmp_path, capsys):
    main(["--ablation", "ties", '{"strategy": {"racing_ties": "retry"}}', "--rows", "seed", "iterative",
          "--table-only", "--out", str(tmp_path), "--tasks", "numbers"])
    assert "| task | seed | iterative+ties |" in capsys.readouterr().out


def test_an_unknown_model_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--model", "nope", "--table-only", "--out", str(tmp_path)])
    assert "--model nope" in capsys.readouterr().err
