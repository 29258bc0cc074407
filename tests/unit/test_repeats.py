"""pass@k, pass^k and flakiness from repeated samples (a scripted model with known flakiness)."""
import json

import pytest

from evo.cli.main import main
from evo.evaluation.evaluator import Evaluator
from evo.evaluation.repeats import pass_all_k, pass_at_k, repeat_stats
from evo.genome import PromptGenome
from evo.llm.scripted import ScriptedBackend
from tests.helpers import arithmetic_suite


def test_the_estimators():
    assert pass_at_k(4, 0, 2) == 0 and pass_at_k(4, 4, 2) == 1 and pass_at_k(4, 1, 2) == pytest.approx(0.5)
    assert pass_all_k(4, 4, 2) == 1 and pass_all_k(4, 2, 2) == pytest.approx(1 / 6) and pass_all_k(4, 1, 2) == 0


def flaky_model():
    """Right on every sample of even-numbered examples, on even samples only of the others."""
    def respond(request):
        a, _, b = request.messages[-1][1].splitlines()[-1].partition(" + ")
        value = int(a) + int(b)
        steady = (int(a) + int(b)) % 2 == 0
        return str(value if steady or request.sample_index % 2 == 0 else value + 1)
    return ScriptedBackend(respond)


def test_known_flakiness_is_measured():
    suite = arithmetic_suite()
    examples = suite.split("train")
    with Evaluator(flaky_model(), suite, workers=1) as ev:
        batch = ev.evaluate(PromptGenome(), examples, samples=4)
    stats = repeat_stats(batch)
    odd = [ex.id for ex in examples if int(ex.expected) % 2]
    assert stats["k"] == 4 and sorted(stats["flaky"]) == sorted(odd)
    assert stats["pass_at_k"] == 1.0  # every example passes at least once
    assert stats["pass_all_k"] == pytest.approx(1 - len(odd) / len(examples))
    assert stats["flake_rate"] == pytest.approx(len(odd) / len(examples))


def test_evo_eval_samples_reports_them(tmp_path, capsys):
    (tmp_path / "llm.yaml").write_text("kind: scripted\ndefault: '3'\n")
    code = main(["eval", "arithmetic", "--llm-config", str(tmp_path / "llm.yaml"), "--no-cache", "--limit", "5",
                 "--samples", "3", "--json", "--temperature", "0.7"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["repeats"]["k"] == 3 and data["repeats"]["examples"] == 5 and len(data["records"]) == 15
