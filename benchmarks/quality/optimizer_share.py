"""Usable share of the embedded optimizer's proposals, per meta-prompt template (iterative strategy).

    python benchmarks/quality/optimizer_share.py [--templates iterative_compact_v1 iterative_compact_v2]
                                                 [--tasks arithmetic dates numbers] [--calls 150]

Runs the iterative strategy with the embedded model as task and optimizer model, fallback edits off
(so every proposal is the optimizer's own), and prints per template and task: proposals made, usable
(an instruction was extracted and passed the guard: not prose, unchanged, duplicate or a copy), the
share, and the held-out test score reached.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks.quality.tasks import BUILTIN, load_task  # noqa: E402
from evo.llm.config import LocalConfig  # noqa: E402


def main(argv=None) -> None:
    import evo

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--templates", nargs="+", default=["iterative_compact_v1", "iterative_compact_v2"])
    parser.add_argument("--tasks", nargs="+", default=list(BUILTIN))
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--quick", type=int, default=0, metavar="ROUNDS",
                        help="only sample ROUNDS x 3 proposals at the seed's state per task (no optimization run)")
    args = parser.parse_args(argv)
    if args.quick:
        return quick(args)
    print(f"{'template':24} {'task':12} {'proposals':>9} {'usable':>6} {'share':>6} {'seed test':>9} {'test':>6}")
    for template in args.templates:
        total = usable = 0
        for task in args.tasks:
            result = evo.optimize(load_task(task), {
                "strategy": {"kind": "iterative", "template": template, "fallback": False},
                "budget": {"max_task_calls": args.calls}, "task_model": {"kind": "local"},
                "optimizer": {"kind": "local"}, "evaluator": {"kind": "threads", "workers": 1}})
            p = result.strategy_report["optimizer_proposals"]
            total, usable = total + p["total"], usable + p["usable"]
            print(f"{template:24} {task:12} {p['total']:9d} {p['usable']:6d} {p['usable_share'] or 0:6.2f} "
                  f"{result.before['test']['mean_score']:9.3f} {result.after['test']['mean_score']:6.3f}", flush=True)
        print(f"{template:24} {'all':12} {total:9d} {usable:6d} {usable / max(1, total):6.2f}", flush=True)


def quick(args) -> None:
    """Proposals sampled at the seed's state (its real train feedback), through the strategy's own
    extraction and guard: the share that would be evaluated."""
    from evo.budget import Budget, BudgetConfig
    from evo.run.session import seed_genome_of
    from evo.evaluation.evaluator import Evaluator
    from evo.llm.local import LocalBackend
    from evo.optimizer.llm import OptimizerLLM
    from evo.strategies.iterative import IterativeConfig, IterativeStrategy

    backend = LocalBackend()
    print(f"{'template':24} {'task':12} {'proposals':>9} {'usable':>6} {'share':>6}  reasons")
    for template in args.templates:
        total = usable = 0
        for task in args.tasks:
            suite = load_task(task)
            seed = seed_genome_of(suite)
            config = IterativeConfig(template=template, fallback=False, structural_prior=0).for_optimizer(LocalConfig())
            strategy = IterativeStrategy(config, suite, seed, OptimizerLLM(backend, Budget(BudgetConfig()), seed=0))
            (request,) = strategy.ask()
            strategy.tell([(request, Evaluator(backend, suite, workers=1).evaluate(seed, suite.split("train")))])
            reasons: dict[str, int] = {}
            for _ in range(args.quick):
                for cand in strategy._propose(3):
                    if cand.genome is None:
                        reasons[cand.rejected] = reasons.get(cand.rejected, 0) + 1
            p = strategy.report()["optimizer_proposals"]
            total, usable = total + p["total"], usable + p["usable"]
            print(f"{template:24} {task:12} {p['total']:9d} {p['usable']:6d} {p['usable_share']:6.2f}  {reasons}", flush=True)
        print(f"{template:24} {'all':12} {total:9d} {usable:6d} {usable / max(1, total):6.2f}", flush=True)


if __name__ == "__main__":
    main()
