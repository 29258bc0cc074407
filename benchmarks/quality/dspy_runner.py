"""Run one DSPy optimizer (GEPA or MIPROv2) on one benchmark task; executed by the DSPy virtualenv's
Python (``run.py`` creates it), never imported by the framework.

    python dspy_runner.py job.json result.json

The job names the task, the optimizer, the seed, the task-model call budget and the OpenAI-compatible
server (llama-cpp-python serving the embedded model on 127.0.0.1). The program is ``dspy.Predict`` of
``question -> answer`` whose instruction is the benchmark's seed prompt. The same model is the task
model and the reflection / prompt model, with separate ``dspy.LM`` objects so their calls are counted
apart (``len(lm.history)``: every call, cached or not, as the framework counts its own). The result
holds the raw test answers; ``run.py`` scores them with the task's own checks, so both sides are
measured by the same metric code.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
# offline: litellm / DSPy use their bundled model map instead of fetching it from GitHub
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")

import dspy  # noqa: E402

from benchmarks.quality.tasks import SEED_INSTRUCTION, load_task, score_answer  # noqa: E402


def make_lm(job: dict, max_tokens: int) -> dspy.LM:
    # litellm sends ``max_tokens`` as ``max_completion_tokens``, which llama-cpp-python's server ignores
    # (a reply then runs to the context's end): pass it in the body as well
    return dspy.LM(f"openai/{job['model']}", api_base=job["api_base"], api_key="local", temperature=0.0,
                   max_tokens=max_tokens, cache=False, num_retries=2, extra_body={"max_tokens": max_tokens})


def main(job_path: str, out_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    suite = load_task(job["task"])
    # DSPy's adapters wrap the answer in field markers: give the task model room for them
    max_tokens = max(64, int((suite.seed_prompt or {}).get("max_tokens", 32)))
    task_lm, proposer_lm = make_lm(job, max_tokens), make_lm(job, 400)
    # one task-model call per example, as in the framework: no second call through the JSON adapter
    # after a reply the chat adapter cannot parse (that reply scores 0); the budget then buys as many
    # metric calls as task-model calls
    dspy.configure(lm=task_lm, adapter=dspy.ChatAdapter(use_json_adapter_fallback=False))

    def as_examples(split: str) -> list:
        return [dspy.Example(question=suite.task(e.task).render_input(e), answer=str(e.expected), _id=e.id)
                .with_inputs("question") for e in suite.split(split)]

    train, val, test = as_examples("train"), as_examples("val"), as_examples("test")
    by_id = {e.id: e for e in suite.examples}

    def score(gold, pred) -> float:
        return score_answer(suite, by_id[gold._id], str(getattr(pred, "answer", "") or ""))

    def metric(gold, pred, trace=None, pred_name=None, pred_trace=None):
        s = score(gold, pred)
        if job["optimizer"] == "gepa":
            feedback = ("Correct." if s >= 1 else
                        f"Incorrect: expected {gold.answer!r}, got {getattr(pred, 'answer', '')!r}.")
            return dspy.Prediction(score=s, feedback=feedback)
        return s

    signature = dspy.Signature("question -> answer", SEED_INSTRUCTION)
    program = dspy.Predict(signature)

    def answers(prog) -> list[dict]:
        out = []
        for ex in test:
            try:
                pred = prog(question=ex.question)
                out.append({"id": ex._id, "answer": str(pred.answer or ""), "error": None})
            except Exception as exc:  # an unparseable reply is a wrong answer, as in the framework
                out.append({"id": ex._id, "answer": "", "error": f"{type(exc).__name__}: {str(exc)[:200]}"})
        return out

    start = time.time()
    if job["optimizer"] == "gepa":
        optimizer = dspy.GEPA(metric=metric, max_metric_calls=job["task_calls"], reflection_lm=proposer_lm,
                              reflection_minibatch_size=3, seed=job["seed"], num_threads=1, track_stats=False,
                              add_format_failure_as_feedback=True)  # GEPA's own answer to unparseable replies
        optimized = optimizer.compile(program, trainset=train, valset=val)
    elif job["optimizer"] == "miprov2":
        optimizer = dspy.MIPROv2(metric=metric, prompt_model=proposer_lm, task_model=task_lm, auto=None,
                                 num_candidates=job.get("num_candidates", 4), max_bootstrapped_demos=3,
                                 max_labeled_demos=3, num_threads=1, seed=job["seed"], verbose=False,
                                 max_errors=10**6)  # an unparseable reply scores 0 instead of ending the run
        optimized = optimizer.compile(program, trainset=train, valset=val, num_trials=job.get("num_trials", 8),
                                      minibatch=True, minibatch_size=job.get("minibatch_size", 10),
                                      minibatch_full_eval_steps=job.get("full_eval_steps", 4),
                                      requires_permission_to_run=False)
    else:
        raise SystemExit(f"unknown optimizer {job['optimizer']!r}")
    optimize_s = time.time() - start
    task_calls, proposer_calls = len(task_lm.history), len(proposer_lm.history)
    predictors = optimized.predictors()
    result = {
        "task": job["task"], "optimizer": job["optimizer"], "seed": job["seed"], "task_calls": task_calls,
        "proposer_calls": proposer_calls, "optimize_s": optimize_s,
        "instruction": predictors[0].signature.instructions if predictors else None,
        "demos": len(predictors[0].demos) if predictors else 0,
        "test": answers(optimized), "seed_test": answers(program),
    }
    Path(out_path).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
