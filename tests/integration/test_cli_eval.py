"""`evo eval` end to end with a scripted backend config, JSON output, cache reruns, bad input."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from evo.cli.main import main


@pytest.fixture
def scripted_cfg(tmp_path):
    rows = {f"{a} + {b}": str(a + b) for a in range(10) for b in range(10)}
    rows["3 + 4"] = "The answer is 7"
    path = tmp_path / "llm.yaml"
    path.write_text("kind: scripted\nresponses:\n" + "".join(f"  '{k}': '{v}'\n" for k, v in rows.items()))
    return path


def run_eval(args, capsys):
    code = main(["eval", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_eval_report_text(add_suite, scripted_cfg, tmp_path, capsys):
    code, out, _ = run_eval([str(add_suite), "--llm-config", str(scripted_cfg), "--cache",
                             str(tmp_path / "c.sqlite"), "--split", "train"], capsys)
    assert code == 0
    assert "5/6 passed" in out and "verbosity" in out and "The answer is 7" in out


def test_eval_json_and_cache_rerun(add_suite, scripted_cfg, tmp_path, capsys):
    args = [str(add_suite), "--llm-config", str(scripted_cfg), "--cache", str(tmp_path / "c.sqlite"), "--json"]
    code, out, _ = run_eval(args, capsys)
    first = json.loads(out)
    assert code == 0 and first["summary"]["n"] == 10 and first["cache"]["misses"] == 10
    assert first["feedback"]["categories"][0]["name"] == "verbosity"
    code, out, _ = run_eval(args, capsys)
    second = json.loads(out)
    assert second["cache"] == {"hits": 10, "misses": 0, "hit_rate": 1.0, "corrupt": 0}
    assert [r["output"] for r in second["records"]] == [r["output"] for r in first["records"]]


def test_eval_prompt_options_and_fail_under(add_suite, scripted_cfg, tmp_path, capsys):
    genome = tmp_path / "g.yaml"
    genome.write_text("instruction: Add.\nfew_shot_k: 1\ndemo_ids: [ex0]\nmax_tokens: 4\n")
    code, out, _ = run_eval([str(add_suite), "--llm-config", str(scripted_cfg), "--no-cache",
                             "--prompt-file", str(genome), "--json", "--fail-under", "0.95"], capsys)
    data = json.loads(out)
    assert data["genome"]["few_shot_k"] == 1 and code == 1  # 9/10 < 0.95


@pytest.mark.parametrize("args,message", [
    (["missing.yaml"], "missing.yaml: no such suite file or built-in suite"),
    (["{suite}", "--split", "training"], "--split: unknown split(s) ['training']"),
    (["{suite}", "--temperature", "5"], "command line: temperature: Input should be less than or equal to 2"),
    (["{suite}", "--prompt-file", "{tmp}/nope.yaml"], "nope.yaml: prompt file does not exist"),
    (["{suite}", "--llm-config", "{tmp}/bad_llm.yaml"], "bad_llm.yaml: kind: unknown kind 'gpt'; expected one of 'local'"),
    (["{suite}", "--backend", "openai_compatible"], "needs --base-url and --model"),
])
def test_bad_input_one_line_exit_2(add_suite, tmp_path, capsys, args, message):
    (tmp_path / "bad_llm.yaml").write_text("kind: gpt\n")
    args = [a.format(suite=add_suite, tmp=tmp_path) for a in args]
    code, out, err = run_eval(args, capsys)
    assert code == 2
    assert err.startswith("evo: error: ") and err.count("\n") == 1, err
    assert message in err, err


def test_subprocess_bad_suite_has_no_traceback(write_suite, tmp_path):
    path = write_suite("name: s\nexamples: [{input: x}]\nchecks: [{kind: exact}]\n")
    evo = Path(sys.executable).parent / "evo"
    proc = subprocess.run([str(evo), "eval", str(path), "--no-cache"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"evo: error: {path}: examples[0].expected: required field is missing"
    assert "Traceback" not in proc.stderr


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "eval" in out and "suites" in out
