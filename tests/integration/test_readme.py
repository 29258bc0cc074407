"""The docs' example suite and assertion (docs/suites.md), extracted and run for real (scripted backend)."""
import json
import re
from pathlib import Path

from evo.cli.main import main

README = Path(__file__).resolve().parents[2] / "docs" / "suites.md"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_suite_and_assertion_run(tmp_path, capsys):
    suite = next(b for b in blocks("yaml") if b.startswith("# capitals.yaml"))
    checks = next(b for b in blocks("python") if b.startswith("# capitals_checks.py"))
    (tmp_path / "capitals.yaml").write_text(suite)
    (tmp_path / "capitals_checks.py").write_text(checks)
    (tmp_path / "llm.yaml").write_text(
        "kind: scripted\nresponses: {'Country: France': 'paris', 'Country: Japan': 'Tokyo.', "
        "'Country: Italy': 'The capital of Italy is Rome'}\ndefault: ''\n")
    code = main(["eval", str(tmp_path / "capitals.yaml"), "--llm-config", str(tmp_path / "llm.yaml"),
                 "--no-cache", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    by_input = {r["input_text"]: r for r in data["records"]}
    assert by_input["Country: France"]["passed"] and by_input["Country: Japan"]["passed"]
    italy = by_input["Country: Italy"]
    assert not italy["passed"] and italy["category"] == "verbosity"
    assert [c["message"] for c in italy["checks"] if c["name"] == "short"] == ["answer with the city name only"]
    assert by_input["Country: Kenya"]["category"] == "empty_output"
