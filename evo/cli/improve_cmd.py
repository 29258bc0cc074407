"""``evo improve SUITE --once``: one closed-loop improvement round (for cron or a systemd timer)."""
from __future__ import annotations

from evo.cli.argtypes import positive_int

from pathlib import Path

from evo.cli.console import make_console

from evo.errors import ConfigError


def register(sub) -> None:
    p = sub.add_parser("improve", help="one improvement round: evolve production arms, filter, deploy",
                       description="Seed a population from the production arms, evolve on the golden suite plus "
                                   "logged examples, filter with a reward model trained on the router's logs, and "
                                   "deploy the winners as new arms. Run it from cron with --once.")
    p.add_argument("suite", help="the golden suite (file or built-in name)")
    p.add_argument("--once", action="store_true", help="run one round and exit (required)")
    p.add_argument("--store", help="arm store SQL URL (default: results/bandit.sqlite)")
    p.add_argument("--config", type=Path, help="optimize config (strategy must be evolutionary)")
    p.add_argument("--max-calls", type=positive_int, default=600, help="LLM-call budget (default 600)")
    p.add_argument("--top", type=positive_int, default=2, help="at most this many new arms")
    from evo.cli.compare_cmd import add_mlflow_flag

    add_mlflow_flag(p, default=True)
    from evo.cli.argtypes import add_threads_flag

    add_threads_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from bandit.policies import BetaTSConfig
    from bandit.router import Router
    from bandit.store import ArmStore, default_store_url
    from evo.run.spec import load_run_spec
    from evo.tasks.loader import load_suite
    from experiments.improve import improve_once

    if not args.once:
        raise ConfigError("--once", "evo improve runs one round per call: schedule it (cron, systemd timer) with --once")
    overrides = {"budget": {"max_calls": args.max_calls}}
    if args.config is None:
        overrides["strategy"] = {"kind": "evolutionary", "population_size": 8, "keep": 4, "generations": 4}
    config = load_run_spec(args.config, overrides)
    store = ArmStore(args.store or default_store_url())
    tracker = None
    if args.mlflow:
        from evo.tracking import MlflowConfig, build_tracker

        tracker = build_tracker(MlflowConfig(), "results", "improve")
    report = improve_once(load_suite(args.suite), store, config, router=Router(store, BetaTSConfig()), top=args.top,
                          tracker=tracker)
    console = make_console()
    console.print(f"improve round: {report['logged_examples']} logged examples used · val "
                  f"{report['before']['val']['pass_rate']:.1%} → {report['after']['val']['pass_rate']:.1%} · "
                  f"reward model: {report['reward_model']} · deployed: {report['deployed'] or 'nothing'}")
    console.print(f"run record: {report['run_dir']}")
    return 0
