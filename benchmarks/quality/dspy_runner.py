"""Run one anchor optimizer (DSPy's GEPA or MIPROv2, or the standalone ``gepa`` package) on one
benchmark task; executed by the DSPy virtualenv's Python (``run.py`` creates it), never imported by
the framework.

    python dspy_runner.py job.json result.json

The job names the task, the optimizer, the adapter, the seed, the task-model call budget and the
OpenAI-compatible server (llama-cpp-python serving the embedded model on 127.0.0.1). The program is
``dspy.Predict`` of ``question -> answer`` whose instruction is the benchmark's seed prompt.

Adapters (``job["adapter"]``):
- ``plain`` (the fair anchor): ``PlainChatAdapter`` renders the program as a plain chat, exactly as
  the framework renders a genome (``evo.evaluation.render``): demos as user/assistant turns, then one
  user turn with the instruction and the input; the whole reply is the answer; the task's own
  ``max_tokens``. The unoptimized program then asks the model what our seed prompt asks, so both
  sides start from the same score (the table's "anchor's seed score" column checks it).
- ``chat`` (DSPy's default ``ChatAdapter``, kept for the record): field markers in the prompt and the
  reply; the 135M model almost never answers in that format, so it measures the format, not search.

``gepa-standalone`` runs ``gepa.optimize`` with its ``DefaultAdapter`` (the candidate is the system
prompt, one user turn per input) and the task's own checks as the evaluator instead of its default
containment test, so every row is scored by the same metric. The same model is the task
model and the reflection / prompt model, with separate ``dspy.LM`` objects so their calls are counted
apart (a callback on each, which DSPy's LM copies keep: every call, as the framework counts its own). The result
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


class CallCounter(dspy.utils.callback.BaseCallback):
    """Counts the calls of one role's LM and of every copy DSPy makes of it (``LM.copy`` keeps the
    callbacks but starts an empty ``history``: MIPROv2 proposes through copies)."""

    def __init__(self):
        self.calls = 0

    def on_lm_start(self, call_id, instance, inputs):
        self.calls += 1


def make_lm(job: dict, max_tokens: int, role: str) -> tuple[dspy.LM, CallCounter]:
    # litellm sends ``max_tokens`` as ``max_completion_tokens``, which llama-cpp-python's server ignores
    # (a reply then runs to the context's end): pass it in the body as well
    counter = CallCounter()
    lm = dspy.LM(f"openai/{job['model']}", api_base=job["api_base"], api_key="local", temperature=0.0,
                 max_tokens=max_tokens, cache=False, num_retries=2, extra_body={"max_tokens": max_tokens},
                 callbacks=[counter])
    lm.bench_role = role  # survives ``LM.copy`` (a shallow copy)
    return lm, counter


class LenientProposerAdapter(dspy.ChatAdapter):
    """DSPy's chat adapter without the JSON retry; a reply from the *proposer* LM that lacks the field
    markers is taken whole as its missing text fields (the framework's optimizer gets the same lenience
    from ``evo.optimizer.llm``'s extraction). Without it MIPROv2 cannot run on a 135M prompt model: its
    instruction proposer raises on the first reply with no ``proposed_instruction`` field. No extra call
    is made. Task-model replies keep the strict parse (an unparseable answer scores 0)."""

    def __init__(self):
        super().__init__(use_json_adapter_fallback=False)
        self.lenient_replies = 0

    def __call__(self, lm, lm_kwargs, signature, demos, inputs):
        try:
            return super().__call__(lm, lm_kwargs, signature, demos, inputs)
        except dspy.utils.exceptions.AdapterParseError as exc:
            missing = [name for name in signature.output_fields if name not in (exc.parsed_result or {})]
            if getattr(lm, "bench_role", None) != "proposer" or any(signature.output_fields[name].annotation is not str
                                                 for name in missing):
                raise
            text = str(exc.lm_response or "").strip()
            self.lenient_replies += 1
            return [{**(exc.parsed_result or {}), **{name: text for name in missing}}]


class PlainChatAdapter(dspy.Adapter):
    """The task model's calls as a plain chat (the framework's rendering of a genome with the
    instruction in the user turn); the proposer / reflection model's calls go through DSPy's chat
    adapter (with ``LenientProposerAdapter``'s lenience), since their programs have several fields."""

    def __init__(self):
        super().__init__()
        self.proposer = LenientProposerAdapter()

    @property
    def lenient_replies(self) -> int:
        return self.proposer.lenient_replies

    def __call__(self, lm, lm_kwargs, signature, demos, inputs):
        if getattr(lm, "bench_role", None) == "proposer" or list(signature.output_fields) != ["answer"]:
            return self.proposer(lm, lm_kwargs, signature, demos, inputs)
        return super().__call__(lm, lm_kwargs, signature, demos, inputs)

    def format(self, signature, demos, inputs):
        messages = []
        for demo in demos:
            if demo.get("question") is not None and demo.get("answer") is not None:
                messages += [{"role": "user", "content": str(demo["question"])},
                             {"role": "assistant", "content": str(demo["answer"])}]
        instruction = (signature.instructions or "").strip()
        question = str(inputs["question"])
        messages.append({"role": "user", "content": f"{instruction}\n\n{question}" if instruction else question})
        return messages

    def parse(self, signature, completion):
        return {"answer": str(completion).strip()}


def run_gepa_standalone(job: dict, suite, counter: CallCounter) -> dict:
    """``gepa.optimize`` with its default adapter; the model calls go through a counted chat function."""
    import gepa
    from gepa.adapters.default_adapter.default_adapter import DefaultAdapter, EvaluationResult

    by_id = {e.id: e for e in suite.examples}
    max_tokens = int((suite.seed_prompt or {}).get("max_tokens", 32))
    task_lm, _ = make_lm(job, max_tokens, "task")
    task_lm.callbacks = [counter]
    reflection_lm, reflection_counter = make_lm(job, 400, "proposer")

    def chat(messages) -> str:
        try:
            return str(task_lm(messages=list(messages))[0])
        except Exception as exc:  # a failed call is a wrong answer, as in the framework
            return f"[error: {type(exc).__name__}]"

    def evaluator(data, response: str):
        score = score_answer(suite, by_id[data["additional_context"]["id"]], response)
        feedback = ("Correct." if score >= 1 else
                    f"Incorrect: expected {data['answer']!r}, got {response.strip()!r}.")
        return EvaluationResult(score=score, feedback=feedback)

    def data(split: str) -> list[dict]:
        return [{"input": suite.task(e.task).render_input(e), "answer": str(e.expected),
                 "additional_context": {"id": e.id}} for e in suite.split(split)]

    adapter = DefaultAdapter(model=chat, evaluator=evaluator)
    seed_candidate = {"system_prompt": SEED_INSTRUCTION}
    start = time.time()
    result = gepa.optimize(seed_candidate=seed_candidate, trainset=data("train"), valset=data("val"), adapter=adapter,
                           reflection_lm=lambda prompt: str(reflection_lm(prompt)[0]),
                           max_metric_calls=job["task_calls"], reflection_minibatch_size=3, seed=job["seed"],
                           display_progress_bar=False)
    optimize_s = time.time() - start
    best = result.best_candidate
    task_calls = counter.calls

    def answers(candidate) -> list[dict]:
        batch = adapter.evaluate(data("test"), candidate)
        return [{"id": d["additional_context"]["id"], "answer": out["full_assistant_response"], "error": None}
                for d, out in zip(data("test"), batch.outputs)]

    return {"task_calls": task_calls, "proposer_calls": reflection_counter.calls, "optimize_s": optimize_s,
            "lenient_replies": 0, "instruction": best["system_prompt"], "demos": 0,
            "test": answers(best), "seed_test": answers(seed_candidate)}


def main(job_path: str, out_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    suite = load_task(job["task"])
    if job["optimizer"] == "gepa-standalone":
        counter = CallCounter()
        result = {"task": job["task"], "optimizer": job["optimizer"], "adapter": "gepa default", "seed": job["seed"],
                  **run_gepa_standalone(job, suite, counter)}
        Path(out_path).write_text(json.dumps(result, indent=1))
        return
    plain = job.get("adapter", "chat") == "plain"
    # DSPy's chat adapter wraps the answer in field markers: give the task model room for them; the
    # plain adapter asks for the answer alone, with the task's own max_tokens (as the framework does)
    seed_max = int((suite.seed_prompt or {}).get("max_tokens", 32))
    max_tokens = seed_max if plain else max(64, seed_max)
    task_lm, task_counter = make_lm(job, max_tokens, "task")
    proposer_lm, proposer_counter = make_lm(job, 400, "proposer")
    # one task-model call per example, as in the framework: no second call through the JSON adapter
    # after a reply the chat adapter cannot parse (that reply scores 0); the budget then buys as many
    # metric calls as task-model calls
    adapter = PlainChatAdapter() if plain else LenientProposerAdapter()
    dspy.configure(lm=task_lm, adapter=adapter)

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
    task_calls, proposer_calls = task_counter.calls, proposer_counter.calls
    predictors = optimized.predictors()
    result = {
        "task": job["task"], "optimizer": job["optimizer"], "adapter": "plain" if plain else "chat",
        "seed": job["seed"], "task_calls": task_calls,
        "proposer_calls": proposer_calls, "optimize_s": optimize_s, "lenient_replies": adapter.lenient_replies,
        "instruction": predictors[0].signature.instructions if predictors else None,
        "demos": len(predictors[0].demos) if predictors else 0,
        # what the optimized program shows (a bootstrapped demo's answer is the model's own reply)
        "demo_pairs": [[str(d.get("question")), str(d.get("answer"))] for d in predictors[0].demos] if predictors else [],
        "test": answers(optimized), "seed_test": answers(program),
    }
    Path(out_path).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
