"""Before a comparison starts: an upper-bound estimate of LLM calls, tokens and USD."""
from __future__ import annotations

from evo.build import seed_genome_of
from evo.llm.pricing import cost_usd, is_priced
from evo.spec import limit_suite
from evo.tasks.loader import load_suite

OPTIMIZER_TOKENS = {"compact": (350, 80), "full": (1800, 350)}


def estimate(config) -> dict:
    """``config``: a resolved experiment (its optimizer is explicit)."""
    opt_cfg = config.optimizer
    opt_in, opt_out = OPTIMIZER_TOKENS["compact" if opt_cfg.kind == "local" else "full"]
    b = config.budget
    per_run = b.max_calls or ((b.max_task_calls or 0) + (b.max_optimizer_calls or 0)) or 1000
    totals = {"runs": 0, "task_calls": 0, "optimizer_calls": 0, "tokens": 0, "usd": 0.0, "priced": True}
    for name in config.suites:
        suite = limit_suite(load_suite(name), config.split_limits)
        n = sum(suite.counts().values())
        genome = seed_genome_of(suite)
        sample = suite.examples[:5]
        chars = sum(len(genome.instruction) + len(suite.task(e.task).render_input(e)) for e in sample) / max(1, len(sample))
        task_tokens = chars / 4 + 20 + genome.max_tokens
        runs = len(config.strategies) * len(config.seeds)
        final = 2 * n + 3 * suite.counts()["val"]
        task_calls = runs * (per_run + final) + (len(config.seeds) * n if config.baseline else 0)
        optimizer_calls = runs * per_run // 10  # optimizer calls are a small share of each run's budget
        totals["runs"] += runs + (len(config.seeds) if config.baseline else 0)
        totals["task_calls"] += task_calls
        totals["optimizer_calls"] += optimizer_calls
        totals["tokens"] += int(task_calls * task_tokens + optimizer_calls * (opt_in + opt_out))
        for model_cfg, calls, tin, tout in ((config.task_model, task_calls, task_tokens - genome.max_tokens, genome.max_tokens),
                                            (opt_cfg, optimizer_calls, opt_in, opt_out)):
            model = model_cfg.model_dump().get("model", "")
            if model_cfg.kind in ("anthropic", "openai_compatible") and not is_priced(model):
                totals["priced"] = False
            totals["usd"] += cost_usd(model, int(calls * tin), int(calls * tout)) if model else 0.0
    return totals
