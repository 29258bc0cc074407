"""Before a comparison starts: an upper-bound estimate of LLM calls, tokens and USD."""
from __future__ import annotations

from evo.run.session import seed_genome_of
from evo.llm.pricing import cost_usd, is_priced
from evo.tasks.loader import load_suite

OPTIMIZER_TOKENS = {"compact": (350, 80), "full": (1800, 350)}


def anthropic_token_counter(model_cfg):
    """A request -> input-token function measured by the task model's provider (the Messages API's token
    counting, with a key set); None otherwise (the estimate then counts ~4 characters a token)."""
    return model_cfg.token_counter()


def estimate(config, token_counter=None) -> dict:
    """An upper bound of what ``config`` (a resolved experiment: its optimizer is explicit) may spend.

    ``search_calls``: every run's call budget (task, optimizer and judge calls, ``budget.max_calls``), of
    which ``optimizer_calls`` is the optimizer's expected share (about a tenth); ``final_calls``: the
    final scoring, charged on top of the budget (seed and winner on every split, the finalists on val,
    the baseline's runs; with their judge calls); ``task_calls``: every task-model call (search share
    plus final scoring); ``judge_calls``: the calls of the suites' ``llm_judge`` checks (each task call
    brings ``judge_calls_per_output`` of them), search and final scoring.
    ``token_counter`` (request -> input tokens, e.g. ``anthropic_token_counter``) measures the task
    prompts exactly; without it, or when it fails, about four characters count as a token
    (``tokens_counted`` says which)."""
    from evo.errors import BackendError
    from evo.evaluation.render import render_request

    opt_cfg = config.optimizer
    opt_in, opt_out = OPTIMIZER_TOKENS["compact" if opt_cfg.in_process else "full"]
    b = config.budget
    per_run = b.max_calls or ((b.max_task_calls or 0) + (b.max_optimizer_calls or 0)) or 1000
    judge_cfg = getattr(config, "judge", None) or opt_cfg
    totals = {"runs": 0, "search_calls": 0, "optimizer_calls": 0, "final_calls": 0, "task_calls": 0, "judge_calls": 0,
              "tokens": 0, "usd": 0.0, "priced": True, "tokens_counted": token_counter is not None}
    for name in config.suites:
        suite = config.split_limits.apply(load_suite(name))
        n = sum(suite.counts().values())
        genome = seed_genome_of(suite)
        sample = suite.examples[:5]
        requests = [render_request(genome, e, suite.task(e.task), suite) for e in sample]
        prompt_tokens = None
        if token_counter is not None and requests:
            try:
                prompt_tokens = sum(token_counter(r) for r in requests) / len(requests)
            except BackendError:
                totals["tokens_counted"] = False
        if prompt_tokens is None:
            prompt_tokens = sum(r.prompt_chars() for r in requests) / max(1, len(requests)) / 4 + 20
        runs = len(config.strategies) * len(config.seeds)
        baseline_runs = len(config.seeds) if config.baseline else 0
        search = runs * per_run
        optimizer_calls = search // 10  # optimizer calls are a small share of each run's budget
        per_output = suite.judge_calls_per_output()
        final = runs * (2 * n + 3 * suite.counts()["val"]) + baseline_runs * n
        search_task = (search - optimizer_calls) // (1 + per_output)
        task_calls = search_task + final
        judge_calls = task_calls * per_output
        judge_in, judge_out = prompt_tokens + genome.max_tokens + 150, 80
        # the judged comparison of winners (judge_pairs): both orders, every test example and seed
        judged = _judged_pair_count(config) * len(config.seeds) * suite.counts()["test"] * 2
        judge_calls += judged
        totals["runs"] += runs + baseline_runs
        totals["search_calls"] += search
        totals["optimizer_calls"] += optimizer_calls
        totals["final_calls"] += final * (1 + per_output) + judged
        totals["task_calls"] += task_calls
        totals["judge_calls"] += judge_calls
        totals["tokens"] += int(task_calls * (prompt_tokens + genome.max_tokens) + optimizer_calls * (opt_in + opt_out)
                                + judge_calls * (judge_in + judge_out))
        for model_cfg, calls, tin, tout in ((config.task_model, task_calls, prompt_tokens, genome.max_tokens),
                                            (opt_cfg, optimizer_calls, opt_in, opt_out),
                                            (judge_cfg, judge_calls, judge_in, judge_out)):
            if not calls:
                continue
            model = model_cfg.model_dump().get("model", "")
            if model_cfg.metered and not is_priced(model):
                totals["priced"] = False
            totals["usd"] += cost_usd(model, int(calls * tin), int(calls * tout)) if model else 0.0
    return totals


def _judged_pair_count(config) -> int:
    from experiments.judged_pairs import pairs_of

    spec = getattr(config, "judge_pairs", "none")
    names = (["baseline"] if getattr(config, "baseline", False) else []) + list(config.strategies)
    return len(pairs_of(spec, names))


def estimate_run(resolved, token_counter=None) -> dict:
    """``estimate`` of one resolved run (``evo optimize``): one suite, one strategy, one seed, no baseline."""
    from types import SimpleNamespace

    as_experiment = SimpleNamespace(optimizer=resolved.optimizer, judge=resolved.judge, budget=resolved.budget,
                                    suites=[resolved.suite],
                                    split_limits=resolved.split_limits, strategies={"run": resolved.strategy},
                                    seeds=[resolved.seed], baseline=False, task_model=resolved.task_model)
    return estimate(as_experiment, token_counter)


def check_total_budget(config, est: dict | None = None) -> None:
    """``ConfigError`` when the estimate's upper bound exceeds ``config.total_budget`` (nothing has run)."""
    from evo.errors import ConfigError

    total = config.total_budget
    if total.max_usd is None and total.max_calls is None:
        return
    est = est or estimate(config)
    calls = est["search_calls"] + est["final_calls"]
    if total.max_calls is not None and calls > total.max_calls:
        raise ConfigError(config.name, f"the comparison may make up to {calls:,} calls ({est['runs']} runs: "
                          f"{est['search_calls']:,} search + {est['final_calls']:,} final scoring), over "
                          f"total_budget.max_calls {total.max_calls:,}; lower budget.max_calls, seeds or strategies",
                          "total_budget.max_calls")
    if total.max_usd is not None and est["usd"] > total.max_usd:
        raise ConfigError(config.name, f"the comparison may cost up to ${est['usd']:.2f} ({est['runs']} runs, final "
                          f"scoring included), over total_budget.max_usd ${total.max_usd:.2f}; lower budget.max_calls, "
                          "seeds or strategies", "total_budget.max_usd")
