"""A minimal install: a feature whose extra is missing is a one-line error naming the extra (exit 2)."""
import sys

import pytest

from evo.cli.main import main
from evo.extras import MissingExtra, require


@pytest.fixture
def without(monkeypatch):
    def hide(*modules):
        for name in modules:
            for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                monkeypatch.delitem(sys.modules, loaded)
            monkeypatch.setitem(sys.modules, name, None)  # `import name` now raises ImportError
    return hide


def test_require_names_the_extra(without):
    without("ray")
    with pytest.raises(MissingExtra, match=r"the ray evaluator needs the `ray` extra: pip install 'evo-bandit\[ray\]'"):
        require("ray", "the ray evaluator")
    assert require("json", "json").dumps([]) == "[]"


def test_tracking_without_mlflow(without):
    without("mlflow")
    from evo.tracking import MlflowTracker
    with pytest.raises(MissingExtra, match="`mlflow` extra"):
        MlflowTracker("sqlite:///x.db", "e")


def test_the_cli_says_which_extra_in_one_line(without, tmp_path, capsys):
    without("fastapi")
    code = main(["bandit", "serve", "--store", f"sqlite:///{tmp_path}/s.db"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "evo bandit serve needs the `router` extra" in err[0]
