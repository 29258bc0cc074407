"""Turn a ``PromptGenome`` and an ``Example`` into an ``LLMRequest``, and extract the answer.

Layout of a request (static parts first, so llama.cpp can reuse the KV prefix across examples):
- system turn: ``genome.system`` then, when ``placement == "system"``, the instruction;
- few-shot demos (the first ``few_shot_k`` of ``demo_ids`` of the same task, never the example itself) as
  user/assistant chat turns;
- final user turn: the instruction (when ``placement == "user"``) then the rendered input.
With chain-of-thought on, a directive asks for reasoning and a final ``Answer:`` line, and
``extract_answer`` keeps only what follows the last ``Answer:``.
"""
from __future__ import annotations

import re

from evo.genome import PromptGenome
from evo.llm.base import LLMRequest
from evo.tasks.suite import Example, Task, TaskSuite

COT_DIRECTIVE = "Think step by step. Then give the final answer on the last line as 'Answer: <answer>'."
_ANSWER = re.compile(r"answer\s*[:：]\s*(.*)", re.IGNORECASE)


def _instruction(genome: PromptGenome) -> str:
    text = genome.instruction.strip()
    if genome.chain_of_thought:
        text = f"{text}\n{COT_DIRECTIVE}" if text else COT_DIRECTIVE
    return text


def demo_examples(genome: PromptGenome, example: Example, suite: TaskSuite) -> list[Example]:
    """The demos shown with ``example`` (``PromptGenome.shown_demos`` for its task, never itself)."""
    if genome.few_shot_k == 0:
        return []
    return [suite.example(i) for i in genome.shown_demos(suite.task_of, example.task, exclude=example.id)]


def render_request(genome: PromptGenome, example: Example, task: Task, suite: TaskSuite,
                   *, seed: int = 0, sample_index: int = 0) -> LLMRequest:
    instruction = _instruction(genome)
    system_parts = [genome.system.strip()] if genome.system.strip() else []
    if genome.placement == "system" and instruction:
        system_parts.append(instruction)
    messages: list[tuple[str, str]] = []
    for demo in demo_examples(genome, example, suite):
        messages.append(("user", task.render_input(demo)))
        own = genome.demo_answers.get(demo.id)
        if own is not None:  # a bootstrapped demo: the model's own passing reply, verbatim
            messages.append(("assistant", own))
        else:
            answer = str(demo.expected)
            messages.append(("assistant", f"Answer: {answer}" if genome.chain_of_thought else answer))
    user = task.render_input(example)
    if genome.placement == "user" and instruction:
        user = f"{instruction}\n\n{user}"
    messages.append(("user", user))
    return LLMRequest(
        messages=tuple(messages), system="\n\n".join(system_parts), model=genome.model or "",
        temperature=genome.temperature, max_tokens=genome.max_tokens, seed=seed, sample_index=sample_index,
    )


def extract_answer(text: str, chain_of_thought: bool) -> str:
    """The part of a model output the checks judge: after the last ``Answer:`` with CoT, else all."""
    if not chain_of_thought:
        return text.strip()
    matches = list(_ANSWER.finditer(text))
    if matches:
        return matches[-1].group(1).strip()
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


# ---- serving: the same rendering for live requests (bandit router) -----------------------------------
LIVE_EXAMPLE_ID = "__live__"
DEFAULT_INPUT_TEMPLATE = "{input}"


def render_context(genome: PromptGenome, suite: TaskSuite) -> dict:
    """What ``render_live`` needs besides the genome to render a live request exactly as the evaluator
    would: each task's input template and the genome's few-shot demos of that task (inputs and
    expected answers). JSON-serializable; stored with a deployed arm."""
    tasks = {}
    for task in suite.tasks:
        probe = Example(LIVE_EXAMPLE_ID, task.name, {}, None, "test")
        demos = [{"id": d.id, "inputs": dict(d.inputs), "expected": d.expected}
                 for d in demo_examples(genome, probe, suite)]
        tasks[task.name] = {"input_template": task.input_template, "demos": demos}
    return {"suite": suite.name, "tasks": tasks, "default_task": suite.tasks[0].name}


def render_live(genome: PromptGenome, context: dict | None, inputs: dict, task: str | None = None,
                *, seed: int = 0) -> LLMRequest:
    """The request the evaluator would send for ``genome`` on an example with these input fields.

    Builds a one-task suite from ``context`` (see ``render_context``) and calls ``render_request``, so
    serving and evaluation share one rendering function. Without a context the input template is
    ``{input}`` and there are no demos. Raises ``KeyError`` for an unknown task or a missing input field.
    """
    context = context or {"tasks": {"task": {"input_template": DEFAULT_INPUT_TEMPLATE, "demos": []}},
                          "default_task": "task"}
    name = task or context["default_task"]
    if name not in context["tasks"]:
        raise KeyError(f"unknown task {name!r}; this arm serves {sorted(context['tasks'])}")
    spec = context["tasks"][name]
    live_task = Task(name, spec["input_template"], ())
    demos = tuple(Example(d["id"], name, d["inputs"], d["expected"], "train") for d in spec["demos"])
    example = Example(LIVE_EXAMPLE_ID, name, inputs, None, "test")
    suite = TaskSuite("live", (live_task,), demos + (example,))
    return render_request(genome, example, live_task, suite, seed=seed)


def request_json(request: LLMRequest) -> dict:
    """A rendered request as the chat payload a client sends: system text, messages as
    ``{"role", "content"}`` turns, model and sampling settings."""
    return {"system": request.system, "messages": [{"role": r, "content": c} for r, c in request.messages],
            "model": request.model, "temperature": request.temperature, "max_tokens": request.max_tokens,
            "stop": list(request.stop)}


def prompt_template(genome: PromptGenome, suite: TaskSuite, task: str | None = None) -> list[dict]:
    """The genome as a chat template for a prompt registry: the rendered messages with every input
    field of the task's template left as a ``{{field}}`` placeholder (MLflow's variable syntax), the
    system text as a leading ``system`` message."""
    from evo.tasks.suite import template_fields

    context = render_context(genome, suite)
    name = task or context["default_task"]
    fields = template_fields(context["tasks"][name]["input_template"])
    request = render_live(genome, context, {f: "{{" + f + "}}" for f in fields}, name)
    messages = [{"role": "system", "content": request.system}] if request.system else []
    return messages + [{"role": r, "content": c} for r, c in request.messages]
