"""Toy task and models with a known optimum, for strategy, backend and policy tests (ours and yours).

``arithmetic_suite()``: one-task addition suite, strict numeric check. ``keyword_task_model()``: a
scripted "model" whose answers depend on the instruction like a real small model's would:
- contains "number only"  -> the bare correct number (passes a strict numeric check)
- contains "compute"      -> "The answer is N" (fails strict: verbosity)
- otherwise                -> "I like numbers" (no number)
- contains "odd only" too  -> correct only for odd results (a way to break training cases)
- contains "small only"    -> correct only for results <= 6 (a way to overfit a train split)
``pure_optimizer()``: an optimizer whose reply is a pure function of its request (replays after a
resume). ``build_parts(spec, suite, task=..., optimizer=...)``: the parts of a run, as ``evo.optimize``
builds them, without a run directory.
"""
from __future__ import annotations

from evo.llm.scripted import ScriptedBackend
from evo.tasks.checks import NumericCheck
from evo.tasks.suite import Example, Task, TaskSuite


def arithmetic_suite(n_train=10, n_val=6, n_test=6) -> TaskSuite:
    task = Task("add", "{a} + {b}", (NumericCheck(strict=True),))
    examples, i = [], 0
    for split, n in (("train", n_train), ("val", n_val), ("test", n_test)):
        for _ in range(n):
            a, b = i % 7 + 1, (i * 3) % 5 + 1
            examples.append(Example(f"{split}{i}", "add", {"a": a, "b": b}, str(a + b), split))
            i += 1
    return TaskSuite("add", (task,), tuple(examples), "Add two small numbers; reply with the number only.")


def _solve(last_line: str) -> int:
    a, _, b = last_line.partition(" + ")
    return int(a) + int(b)


def keyword_task_model(**kw) -> ScriptedBackend:
    def respond(request):
        user = request.messages[-1][1]
        instruction = (request.system + "\n" + user).lower()
        value = _solve(user.splitlines()[-1])
        if "odd only" in instruction and value % 2 == 0:
            return str(value + 1)
        if "small only" in instruction and value > 6:
            return str(value + 1)
        if "number only" in instruction:
            return str(value)
        if "compute" in instruction:
            return f"The answer is {value}"
        return "I like numbers"
    return ScriptedBackend(respond, name="keyword-task", **kw)


def scripted_optimizer(replies: list[str], **kw) -> ScriptedBackend:
    """Answers optimizer calls with ``replies`` in order (cycling), recording every request."""
    state = {"i": 0}

    def respond(request):
        text = replies[state["i"] % len(replies)]
        state["i"] += 1
        return text
    return ScriptedBackend(respond, name="optimizer", **kw)


def tagged(prompt: str, change: str = "changed it", target: str = "verbosity") -> str:
    return f"<analysis>x</analysis><change>{change}</change><target>{target}</target><prompt>{prompt}</prompt>"


def pure_optimizer(**kw) -> ScriptedBackend:
    """An optimizer whose reply is a pure function of the request (so runs replay after a resume):
    it proposes the quoted/tagged current instruction plus a phrase chosen by the sample index."""
    import re
    phrases = ["Give the number only.", "Compute it.", "Be brief.", "Hello.", "Number only please."]

    def respond(request):
        user = request.messages[-1][1]
        m = re.search(r'Instruction(?: A)?: "(.*?)"', user) or re.search(r"<current_prompt>\s*(.*?)\s*</current_prompt>", user, re.S) \
            or re.search(r"<parent_a>\s*(.*?)\s*</parent_a>", user, re.S)
        base = m.group(1) if m else ""
        extra = phrases[request.sample_index % len(phrases)]
        return f"<change>added '{extra}'</change><prompt>{base} {extra}</prompt>"
    return ScriptedBackend(respond, name="pure-optimizer", **kw)


def build_parts(spec: dict, suite: TaskSuite, *, task, optimizer, seed_genome=None):
    """The ``RunParts`` of a run of ``spec`` on ``suite`` with the given backends (no cache, one worker,
    no environment): what ``evo.optimize`` builds, without a run directory."""
    from evo.run.session import Session
    from evo.run.resolve import resolve
    from evo.run.spec import RunSpec

    spec = {"cache": False, "evaluator": {"kind": "threads", "workers": 1}, "task_model": {"kind": "scripted"},
            "optimizer": {"kind": "scripted"}, **spec}
    resolved = resolve(RunSpec.model_validate(spec), suite=suite.name, env={})
    session = Session(resolved, backends={"task": task, "optimizer": optimizer})
    return session.parts(resolved, suite, seed_genome=seed_genome)
