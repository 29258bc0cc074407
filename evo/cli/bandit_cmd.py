"""``evo bandit serve|deploy|status|simulate``: run the router, promote winners, inspect, simulate."""
from __future__ import annotations

from evo.cli.argtypes import port, positive_float, positive_int

import json
import os
from pathlib import Path

from evo.cli.console import make_console
from rich.table import Table

from pydantic import ValidationError

from evo.errors import ConfigError, pydantic_error_to_config_error



def register(sub) -> None:
    from bandit.policies import POLICIES

    p = sub.add_parser("bandit", help="online routing of winning prompts (Thompson sampling)")
    bsub = p.add_subparsers(dest="bandit_command", metavar="SUBCOMMAND", required=True)

    def store_args(q):
        q.add_argument("--store", help="SQL URL of the arm store (default: sqlite file results/bandit.sqlite; "
                                       "or postgresql://user:pass@host:port/db)")
        q.add_argument("--policy", choices=list(POLICIES), default="beta_ts", help="bandit policy (default beta_ts)")
        q.add_argument("--discount", type=float, default=1.0, help="evidence decay per reward, (0, 1]")
        q.add_argument("--context-features", metavar="NAMES",
                       help="linear_ts: the request features it reads, comma-separated (e.g. lang,tier,age)")
        q.add_argument("--rollout", type=Path, metavar="YAML",
                       help="rollout settings (stages, advance_after_pulls, production_floor, rollback_margin, ...); "
                            "default: 10%% -> 50%% -> 100%% every 200 rewards, production floor 10%%")
        q.add_argument("--no-rollout", action="store_true", help="new arms compete for all traffic at once")

    s = bsub.add_parser("serve", help="serve POST /route, POST /reward, GET /arms, admin POST/DELETE /arms")
    store_args(s)
    s.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    s.add_argument("--port", type=port, default=8765, help="TCP port (default 8765)")
    s.add_argument("--seed", type=int, default=0, help="seed of the policy's random draws (default 0)")
    s.add_argument("--workers", type=positive_int, default=1,
                   help="server processes sharing the port and the store (default 1)")
    s.add_argument("--max-body-bytes", type=positive_int, default=64 * 1024,
                   help="larger request bodies get 413 (default 65536)")
    s.add_argument("--max-feature-bytes", type=positive_int, default=16 * 1024,
                   help="larger /route features (as JSON) get 413 (default 16384)")
    s.add_argument("--llm-config", type=Path, metavar="YAML",
                   help="backend config (as for `evo eval --llm-config`) that serves POST /complete")
    s.add_argument("--admin-token-env", default="EVO_BANDIT_ADMIN_TOKEN",
                   help="environment variable holding the admin bearer token (admin endpoints off if unset)")
    s.add_argument("--complete-token-env", default="EVO_BANDIT_COMPLETE_TOKEN",
                   help="environment variable holding the bearer token of POST /complete (default: the admin "
                        "token; /complete is off without either)")
    s.add_argument("--complete-per-minute", type=positive_float, default=60.0,
                   help="POST /complete calls a client address may make a minute (default 60; more get 429)")
    s.add_argument("--sticky-ttl", type=positive_float, default=30.0, metavar="DAYS",
                   help="a /route subject_id keeps its arm this long (default 30 days)")
    s.add_argument("--retain-decisions", type=positive_float, metavar="DAYS",
                   help="delete decisions older than DAYS (checked hourly; default: keep them all)")
    s.add_argument("--max-header-bytes", type=positive_int, default=16 * 1024,
                   help="request line + headers larger than this get 431 (default 16384)")
    s.add_argument("--header-timeout", type=positive_float, default=10.0, metavar="SECONDS",
                   help="a request head must arrive within this, else 408 and close (default 10)")
    s.add_argument("--body-timeout", type=positive_float, default=30.0, metavar="SECONDS",
                   help="a request body must arrive within this, else 408 and close (default 30)")
    s.add_argument("--limit-concurrency", type=positive_int, default=1000,
                   help="connections + requests a worker serves at once; 503 past it (default 1000)")
    s.add_argument("--max-connections-per-client", type=positive_int, default=256,
                   help="open connections one client address may hold (default 256)")
    from evo.cli.argtypes import add_threads_flag

    add_threads_flag(s)
    s.set_defaults(func=serve)

    d = bsub.add_parser("deploy", help="promote the best genomes of an optimization run as arms")
    store_args(d)
    d.add_argument("run_dir", type=Path, help="a finished run directory (with result.json)")
    d.add_argument("--top", type=positive_int, default=2, help="how many genomes to deploy")
    d.add_argument("--pareto", action="store_true", help="deploy the Pareto set instead of the top by quality")
    d.add_argument("--filter-with-reward-model", type=Path, metavar="MODEL_JSON",
                   help="keep only genomes the trained reward model predicts to beat production")
    d.add_argument("--require-ope-lift", action="store_true",
                   help="deploy a genome only if its off-policy estimate (DR, 95%% lower bound) from the store's "
                        "logs clears production's (a never-served genome needs --filter-with-reward-model)")
    d.add_argument("--json", action="store_true", help="print the result as JSON on stdout (for scripts)")
    d.set_defaults(func=deploy)

    ope = bsub.add_parser("evaluate-offline", help="estimate a candidate genome or policy from the logged decisions "
                                                   "(IPS, SNIPS, doubly robust) before it serves anyone")
    store_args(ope)
    ope.add_argument("--candidate", type=Path, required=True, metavar="FILE",
                     help="a genome (best_genome.json of a run) or a policy config YAML (kind: beta_ts, ...)")
    ope.add_argument("--reward-model", type=Path, metavar="MODEL_JSON",
                     help="the direct method of DR (default: each arm's mean logged reward)")
    ope.add_argument("--resamples", type=positive_int, default=1000, help="bootstrap resamples for the direct method's interval (default 1000)")
    ope.add_argument("--json", action="store_true", help="print the estimates as JSON on stdout (for scripts)")
    ope.set_defaults(func=evaluate_offline)

    rm = bsub.add_parser("train-reward-model", help="fit the reward model on the router's logs; report held-out quality")
    store_args(rm)
    rm.add_argument("--out", type=Path, default=Path("results/reward_model.json"),
                    help="where to save the model as JSON (default results/reward_model.json)")
    rm.add_argument("--json", action="store_true", help="print the result as JSON on stdout (for scripts)")
    rm.set_defaults(func=train_reward_model)

    st = bsub.add_parser("status", help="arms: rollout stage, cap, traffic share, pulls, mean reward, P(best)")
    store_args(st)
    st.add_argument("--json", action="store_true", help="print the arms as JSON (for scripts)")
    st.set_defaults(func=status)

    sim = bsub.add_parser("simulate", help="compare policies on simulated arms (regret curves)")
    sim.add_argument("--means", default="0.50,0.55,0.60,0.65,0.70", help="arm means, comma-separated")
    sim.add_argument("--gaussian", action="store_true", help="Gaussian rewards (sd 1) instead of Bernoulli")
    sim.add_argument("--drift", default="", help="per-step drift of each arm's mean, comma-separated")
    sim.add_argument("--horizon", type=positive_int, default=10_000, help="decisions per simulated run (default 10000)")
    sim.add_argument("--seeds", type=positive_int, default=20, help="simulated runs per policy (default 20)")
    sim.add_argument("--policies", default="beta_ts,ucb1,epsilon_greedy,uniform",
                     help="policies to compare, comma-separated (default beta_ts,ucb1,epsilon_greedy,uniform)")
    sim.add_argument("--discount", type=float, default=1.0, help="evidence decay per reward, (0, 1] (default 1)")
    sim.add_argument("--scenario", choices=["arms", "segments", "guardrail"], default="arms",
                     help="arms: the --means arms (default); segments: 4 segments each with its own best of 4 "
                          "prompts, every policy routing globally and by segment; guardrail: the objective's best "
                          "prompt is 400 ms slower than a 100 ms latency guardrail allows, with and without it")
    sim.add_argument("--delay", type=int, default=0, metavar="N",
                     help="rewards reach the policy N decisions late (arms scenario)")
    sim.add_argument("--missing", type=float, default=0.0, metavar="SHARE",
                     help="share of rewards that never arrive (arms scenario)")
    sim.add_argument("--out", type=Path, default=Path("results/bandit_simulate"),
                     help="output directory for the plot and summary (default results/bandit_simulate)")
    from evo.cli.compare_cmd import add_mlflow_flag

    add_mlflow_flag(sim, default=True)
    sim.add_argument("--json", action="store_true", help="print the result as JSON on stdout (for scripts)")
    sim.set_defaults(func=simulate)


def policy_cfg(kind: str, discount: float, context_features: str | None = None):
    from pydantic import TypeAdapter, ValidationError

    from bandit.policies import PolicyConfig
    from evo.errors import pydantic_error_to_config_error

    data = {"kind": kind, "discount": discount}
    if context_features:
        data["features"] = [f.strip() for f in context_features.split(",") if f.strip()]
    try:
        return TypeAdapter(PolicyConfig).validate_python(data)
    except ValidationError as exc:
        raise pydantic_error_to_config_error("--policy/--discount/--context-features", exc) from None


def rollout_cfg(args):
    from bandit.rollout import RolloutConfig
    from evo.config_base import read_mapping, validate_config

    data = read_mapping(args.rollout, "rollout settings") if getattr(args, "rollout", None) else {}
    if getattr(args, "no_rollout", False):
        data["enabled"] = False
    return validate_config(RolloutConfig, data, str(args.rollout or "--no-rollout"))


def open_router(args, seed: int = 0):
    from bandit.router import Router
    from bandit.store import ArmStore, default_store_url

    url = args.store or default_store_url()
    try:
        store = ArmStore(url)
    except Exception as exc:
        raise ConfigError("--store", f"cannot open {url!r}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    try:
        return Router(store, policy_cfg(args.policy, args.discount, getattr(args, "context_features", None)), seed=seed,
                      rollout=rollout_cfg(args))
    except ValueError as exc:
        raise ConfigError("--policy", str(exc)) from None


def serve(args) -> int:
    from evo.extras import require

    require("fastapi", "evo bandit serve")
    from bandit.service import serve as run_server

    router = open_router(args, args.seed)  # opens (and migrates) the store once, with a clear error
    router.store.close()
    token = os.environ.get(args.admin_token_env)
    llm = None
    if args.llm_config:
        from evo.llm.config import parse_backend_config
        from evo.tasks.loader import read_yaml

        raw = read_yaml(args.llm_config)
        if not isinstance(raw, dict):
            raise ConfigError(args.llm_config, "must be a mapping with 'kind'")
        llm = parse_backend_config(raw, args.llm_config).model_dump()
    try:
        cfg = _serve_config(args, router, llm)
    except ValidationError as exc:
        raise pydantic_error_to_config_error("evo bandit serve", exc) from None
    make_console(stderr=True).print(f"evo bandit router on http://{args.host}:{args.port} (docs: /docs) · store "
                               f"{router.store.url} · policy {args.policy} · {args.workers} worker(s) · admin "
                               f"endpoints {'on' if token else 'off (set ' + args.admin_token_env + ')'}")
    run_server(cfg, args.host, args.port, workers=args.workers)
    return 0


def _serve_config(args, router, llm):
    from bandit.service import ServeConfig

    return ServeConfig(llm=llm, store=router.store.url, policy=router.policy_cfg.model_dump(),
                       sticky_ttl_s=args.sticky_ttl * 86400.0,
                      rollout=router.rollout.model_dump(), seed=args.seed, admin_token_env=args.admin_token_env,
                      max_body_bytes=args.max_body_bytes, max_feature_bytes=args.max_feature_bytes,
                      complete_token_env=args.complete_token_env, complete_per_minute=args.complete_per_minute,
                      retain_decisions_days=args.retain_decisions, max_header_bytes=args.max_header_bytes,
                      header_timeout_s=args.header_timeout, body_timeout_s=args.body_timeout,
                      limit_concurrency=args.limit_concurrency,
                      max_connections_per_client=args.max_connections_per_client)


def evaluate_offline(args) -> int:
    from bandit.ope import evaluate_candidate, read_candidate

    candidate = read_candidate(args.candidate)
    router = open_router(args)
    model = _reward_model(args.reward_model)
    try:
        result = evaluate_candidate(router.store, candidate, reward_model=model, resamples=args.resamples)
    except ValueError as exc:
        raise ConfigError(args.candidate, str(exc)) from None
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    console = make_console()
    table = Table(title=f"off-policy estimates · {result['candidate']} vs production {result['production']} · "
                        f"direct method: {result['direct_method']}", title_justify="left")
    for col in ("estimator", "candidate", "95% CI", "production", "95% CI "):
        table.add_column(col, justify="right")
    cand, prod = result["candidate_estimates"], result["production_estimates"]
    for name in ("ips", "snips", "dr", "dm"):
        c, p = cand["estimates"][name], prod["estimates"][name]
        table.add_row(name.upper(), f"{c['value']:.4f}", f"{c['ci95'][0]:.3f}–{c['ci95'][1]:.3f}",
                      f"{p['value']:.4f}", f"{p['ci95'][0]:.3f}–{p['ci95'][1]:.3f}")
    console.print(table)
    console.print(f"{cand['n']} logged decisions used ({cand['skipped_without_propensity']} without a propensity "
                  f"left out) · effective sample size {cand['ess']:.0f} · "
                  + ("[green]lift[/]" if result["lift"] else "[yellow]no lift shown[/]") + f": {result['lift_rule']}")
    return 0


def _reward_model(path):
    if path is None:
        return None
    from bandit.reward_model import RewardModel

    try:
        return RewardModel.load(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(path, f"cannot load the reward model: {exc}") from None


def deploy(args) -> int:
    from bandit.deploy import deploy_run

    router = open_router(args)
    added = deploy_run(router, args.run_dir, top=args.top, pareto=args.pareto,
                       reward_model_path=args.filter_with_reward_model, require_ope_lift=args.require_ope_lift)
    if args.json:
        print(json.dumps({"deployed": [{"arm_id": a, "label": label} for a, label in added],
                          "arms": router.status()}, indent=2))
        return 0
    console = make_console()
    for arm_id, label in added:
        console.print(f"deployed {arm_id} ({label})")
    print_status(console, router)
    return 0


def print_status(console, router) -> None:
    table = Table(title=f"arms · policy {router.policy_cfg.kind} · store {router.store.url}", title_justify="left")
    for col in ("arm", "label", "stage", "cap", "share", "pulls", "observed", "posterior (95% CI)", "P(best)",
                "instruction"):
        table.add_column(col, overflow="ellipsis", no_wrap=True, max_width=28 if col == "instruction" else None)
    for r in router.status():
        observed = "-" if r["mean_reward"] is None else f"{r['mean_reward']:.3f}"
        posterior = "-" if r.get("posterior_mean") is None else \
            f"{r['posterior_mean']:.2f} [{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]"
        table.add_row(r["arm_id"], r["label"], r["stage"], f"{r['cap']:.0%}", f"{r['share']:.1%}", f"{r['pulls']:.0f}",
                      observed, posterior, f"{r['p_best']:.2f}" if r["active"] else "-", r["instruction"][:50])
    console.print(table)
    if router.rollout.segments.by:
        segments = router.segment_status()
        best = {g: max(arms, key=lambda a: arms[a]["mean_reward"] or 0.0) for g, arms in segments.items() if arms}
        console.print(f"segments by {', '.join(router.rollout.segments.by)}: {len(segments)}"
                      + (" · best observed: " + ", ".join(f"{g} → {a}" for g, a in list(best.items())[:8])
                         + (" …" if len(best) > 8 else "") if best else " (no reward yet)"),
                      highlight=False, markup=False)
    state = router.experiment()
    if state is None:
        return
    if state["declared"] is not None:
        d = state["declared"]
        console.print(f"winner declared: {d['arm_id']} (GLR {d['statistic']:.2f} > threshold {d['threshold']:.2f} after "
                      f"{d['pulls']:.0f} rewards; delta {d['delta']}, epsilon {d['epsilon']})", highlight=False)
    elif state["leader"] == -1:
        console.print(f"winner declaration: no reward yet · stops at delta {state['delta']}, epsilon "
                      f"{state['epsilon']}, after {state['min_pulls']} rewards an arm", highlight=False)
    else:
        console.print(f"winner declaration: leader {state['leader']} · GLR statistic {state['statistic']:.2f} vs "
                      f"threshold {state['threshold']:.2f} (closest challenger {state['closest_challenger']}) · "
                      f"{state['pulls']:.0f} rewards · stops at delta {state['delta']}, epsilon {state['epsilon']}, "
                      f"{state['min_pulls']} rewards an arm", highlight=False)


def status(args) -> int:
    router = open_router(args)
    if args.json:
        print(json.dumps({"policy": router.policy_cfg.kind, "store": router.store.url, "arms": router.status(),
                          "experiment": router.experiment(), "segments": router.segment_status()}, indent=2))
        return 0
    print_status(make_console(), router)
    return 0


def simulate(args) -> int:
    import numpy as np

    from bandit.simulate import ArmSpec, compare_policies
    from experiments import plots

    try:
        means = [float(x) for x in args.means.split(",")]
        drift = [float(x) for x in args.drift.split(",")] if args.drift else [0.0] * len(means)
    except ValueError:
        raise ConfigError("--means/--drift", "must be comma-separated numbers") from None
    if len(drift) != len(means):
        raise ConfigError("--drift", "needs one value per arm")
    if args.delay < 0 or not 0 <= args.missing < 1:
        raise ConfigError("--delay/--missing", "delay must be >= 0 and missing in [0, 1)")
    arms = [ArmSpec(kind="gaussian" if args.gaussian else "bernoulli", mean=m, drift=d) for m, d in zip(means, drift)]
    cfgs = {k: policy_cfg(k, args.discount) for k in args.policies.split(",")}
    extra_columns: dict = {}
    if args.scenario == "segments":
        from bandit.simulate import compare_segments

        results = compare_segments(cfgs, args.horizon, args.seeds)
    elif args.scenario == "guardrail":
        from bandit.simulate import simulate_guardrail

        results = {}
        for k, cfg in cfgs.items():
            for guarded in (False, True):
                runs = [simulate_guardrail(cfg, args.horizon, s, guarded=guarded) for s in range(args.seeds)]
                name = f"{k} ({'guardrail' if guarded else 'no guardrail'})"
                results[name] = np.stack([r for r, _ in runs])
                extra_columns[name] = f"{np.mean([share for _, share in runs]):.1%}"
    else:
        results = compare_policies(cfgs, arms, args.horizon, args.seeds, delay=args.delay, missing=args.missing)
    args.out.mkdir(parents=True, exist_ok=True)
    step = max(1, args.horizon // 200)
    curves = {k: [(t + 1, float(m[:, t].mean())) for t in range(0, args.horizon, step)] for k, m in results.items()}
    png = plots.progress_plot(curves, args.out / "regret.png", f"cumulative regret, mean of {args.seeds} seeds",
                              xlabel="decisions", ylabel="cumulative regret")
    table = Table(title=f"final regret after {args.horizon} steps, {args.seeds} seeds ({args.scenario} scenario)",
                  title_justify="left")
    for col in ("policy", "mean", "sd") + (("traffic breaking the guardrail",) if extra_columns else ()):
        table.add_column(col)
    summary = {}
    for k, m in results.items():
        final = m[:, -1]
        summary[k] = {"mean": float(final.mean()), "sd": float(final.std())}
        if extra_columns:
            summary[k]["guardrail_breaking_share"] = extra_columns[k]
        table.add_row(k, f"{final.mean():.1f}", f"{final.std():.1f}", *((extra_columns[k],) if extra_columns else ()))
    console = make_console(stderr=args.json)
    console.print(table)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    if args.mlflow:
        from evo.tracking import MlflowConfig, build_tracker

        tracker = build_tracker(MlflowConfig(), "results", "bandit-simulate")
        run = tracker.start_run("simulate", tags={"arms": args.means, "horizon": args.horizon})
        for k, m in results.items():
            tracker.log_metrics(run, {f"final_regret/{k}": float(m[:, -1].mean())}, 0)
            mean_curve = m.mean(axis=0)
            for t in range(0, args.horizon, step * 10):
                tracker.log_metrics(run, {f"regret/{k}": float(mean_curve[t])}, t)
        tracker.log_file(run, png)
        tracker.end_run(run)
    console.print(f"plot: {png}")
    np.save(args.out / "regret.npy", np.stack(list(results.values())))
    if args.json:
        print(json.dumps({"final_regret": summary, "plot": str(png), "horizon": args.horizon, "seeds": args.seeds}))
    return 0


def train_reward_model(args) -> int:
    from bandit.reward_model import train

    router = open_router(args)
    try:
        model = train(router.store.logs())
    except ValueError as exc:
        raise ConfigError("reward model", str(exc)) from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    q = model.quality
    if args.json:
        print(json.dumps({"kind": model.kind, "quality": q, "saved": str(args.out)}, indent=2, default=str))
        return 0
    make_console().print(f"reward model ({model.kind}) on {q['n_train']} logs, held out {q['n_test']}: {q['metric']} "
                    f"{q['heldout']:.4f} vs constant baseline {q['baseline']:.4f}"
                    + (f", AUC {q['auc']:.3f}" if "auc" in q else "") + f" · saved {args.out}")
    return 0
