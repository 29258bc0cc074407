"""Every CLI option says what it does, and every command tracking to MLflow takes --mlflow/--no-mlflow."""
import argparse

from evo.cli.main import build_parser


def _commands(parser, prefix=("evo",)):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, prefix + (name,))
    yield " ".join(prefix), parser


def test_every_option_has_help_text():
    missing = [f"{name} {a.option_strings or a.dest}" for name, parser in _commands(build_parser())
               for a in parser._actions
               if a.help is None and a.dest != "help" and not isinstance(a, argparse._SubParsersAction)]
    assert missing == []


def test_mlflow_flag_is_the_same_everywhere():
    commands = {name: parser for name, parser in _commands(build_parser())}
    for name in ("evo optimize", "evo compare", "evo ablate", "evo improve", "evo bandit simulate"):
        flags = {s for a in commands[name]._actions for s in a.option_strings}
        assert {"--mlflow", "--no-mlflow"} <= flags, name
