"""Money guards: total_budget refuses a comparison whose upper bound is over it; a terminal is asked
before a run over $EVO_CONFIRM_ABOVE_USD."""
import io

import pytest
from rich.console import Console

from evo.cli.compare_cmd import confirm_spend
from evo.errors import ConfigError
from experiments.config import resolve_experiment, validate
from experiments.estimate import check_total_budget, estimate

EXPERIMENT = {"name": "g", "suites": ["arithmetic"], "strategies": {"it": {"kind": "iterative"}},
              "seeds": [0, 1], "budget": {"max_calls": 300}, "optimizer": {"kind": "local"}, "tracking": {"kind": "none"}}


def test_a_total_budget_below_the_upper_bound_is_refused_before_anything_runs():
    cfg = resolve_experiment(validate({**EXPERIMENT, "total_budget": {"max_calls": 700}}, "g.yaml"), env={})
    est = estimate(cfg)
    assert est["search_calls"] == 600 and est["final_calls"] > 100
    with pytest.raises(ConfigError, match="total_budget.max_calls"):
        check_total_budget(cfg, est)
    roomy = resolve_experiment(validate({**EXPERIMENT, "total_budget": {"max_calls": 5000}}, "g.yaml"), env={})
    check_total_budget(roomy)


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("answer, usd, yes, tty, expected", [
    ("y\n", 5.0, False, True, True), ("\n", 5.0, False, True, False), ("n\n", 5.0, False, True, False),
    ("", 0.5, False, True, True), ("", 5.0, True, True, True), ("", 5.0, False, False, True)])
def test_a_terminal_is_asked_above_the_threshold(answer, usd, yes, tty, expected, monkeypatch):
    monkeypatch.delenv("EVO_CONFIRM_ABOVE_USD", raising=False)
    stdin = Tty(answer) if tty else io.StringIO(answer)
    console = Console(file=io.StringIO())
    assert confirm_spend(console, {"usd": usd}, yes, stdin=stdin) is expected
    assert ("Continue?" in console.file.getvalue()) == (tty and not yes and usd > 1.0)


def test_the_threshold_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("EVO_CONFIRM_ABOVE_USD", "10")
    assert confirm_spend(Console(file=io.StringIO()), {"usd": 5.0}, False, stdin=Tty("")) is True
    monkeypatch.setenv("EVO_CONFIRM_ABOVE_USD", "lots")
    with pytest.raises(ConfigError, match="EVO_CONFIRM_ABOVE_USD"):
        confirm_spend(Console(file=io.StringIO()), {"usd": 5.0}, False, stdin=Tty(""))
