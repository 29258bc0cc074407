"""Registries are open (issue 27, item 4): a strategy, a check, a backend and a policy registered from
outside ``evo/`` (``tests/plugins/demo_plugin.py``, loaded by ``EVO_PLUGINS``) run from YAML through the
CLI, exactly as the built-in kinds do; CLI choices include them."""
from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli, write_add_suite

PLUGIN = "tests.plugins.demo_plugin"


cli = run_cli


@pytest.fixture
def plugged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVO_PLUGINS", PLUGIN)
    suite = write_add_suite(tmp_path, 6, 2, 2)
    suite.write_text(suite.read_text().replace("checks: [{kind: numeric, strict: true}]",
                                               "checks: [{kind: numeric}, {kind: ends_with, suffix: '.'}]"))
    (tmp_path / "adder.yaml").write_text("kind: adder\nsuffix: '.'\n")
    return tmp_path, suite


def test_a_plugin_check_and_backend_run_from_yaml(plugged):
    tmp, suite = plugged
    code, out, err = cli(["eval", suite, "--llm-config", tmp / "adder.yaml", "--no-cache", "--json"])
    assert code == 0, err
    assert json.loads(out)["summary"]["pass_rate"] == 1.0  # the adder answers "7." and ends_with passes
    (tmp / "plain.yaml").write_text("kind: adder\n")
    code, out, _ = cli(["eval", suite, "--llm-config", tmp / "plain.yaml", "--no-cache", "--json"])
    assert code == 0 and json.loads(out)["summary"]["pass_rate"] == 0.0  # no period: the plugin check fails


def test_a_plugin_strategy_runs_from_yaml_and_is_a_cli_choice(plugged):
    tmp, suite = plugged
    (tmp / "run.yaml").write_text("task_model: {kind: adder, suffix: '.'}\noptimizer: {kind: scripted}\n"
                                  "strategy: {kind: random_search, batch: 2, steps: 2}\nbudget: {max_calls: 60}\n"
                                  "cache: false\n")
    code, _, err = cli(["optimize", suite, "--config", tmp / "run.yaml", "--run-dir", tmp / "run"])
    assert code == 0, err
    assert json.loads((tmp / "run" / "result.json").read_text())["strategy"] == "random_search"
    code, _, err = cli(["optimize", suite, "--config", tmp / "run.yaml", "--strategy", "random_search",
                        "--run-dir", tmp / "run2"])
    assert code == 0, err


def test_a_plugin_policy_is_served_and_simulated(plugged):
    tmp, _ = plugged
    code, out, err = cli(["bandit", "simulate", "--means", "0.2,0.8", "--horizon", "200", "--seeds", "2",
                          "--policies", "first_arm,beta_ts", "--out", tmp / "sim", "--no-mlflow"])
    assert code == 0, err
    assert "first_arm" in out
    code, _, err = cli(["bandit", "status", "--store", f"sqlite:///{tmp}/b.sqlite", "--policy", "first_arm"])
    assert code == 0, err


def test_registering_checks_the_entry_and_unknown_kinds_still_name_the_choices():
    from pydantic import TypeAdapter

    from evo.errors import ConfigError
    from evo.registry import Entry, load_plugins
    from evo.strategies.registry import STRATEGIES, StrategyConfig
    from evo.strategies.iterative import IterativeConfig
    with pytest.raises(ValueError, match="already registered"):
        STRATEGIES.register("iterative", Entry(IterativeConfig, lambda c, x: "another builder"))
    with pytest.raises(ValueError, match="Literal"):
        STRATEGIES.register("other", Entry(IterativeConfig, lambda c, x: None))
    from evo.config_base import StrictConfig
    from evo.llm.config import BACKENDS
    from typing import Literal

    class Bare(StrictConfig):
        kind: Literal["bare"] = "bare"
    with pytest.raises(ValueError, match="BackendConfigBase"):  # backends must say what they are
        BACKENDS.register("bare", Entry(Bare, lambda cfg: None))
    with pytest.raises(Exception, match="expected tags"):
        TypeAdapter(StrategyConfig).validate_python({"kind": "nope"})
    with pytest.raises(ConfigError, match="no_such_module"):
        load_plugins("no_such_module")
