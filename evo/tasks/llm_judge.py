"""``llm_judge`` check: a model grades the output (rubric, reference or pairwise).

Contract:
- The check is built unbound (a suite file names no backend); whoever evaluates binds a judge model
  with ``TaskSuite.with_judge(backend)`` (``Session``, ``evo eval``, each Ray worker). An unbound judge
  check fails with category ``error`` and says so.
- Every judge call asks for one JSON object (with a JSON Schema the backend enforces when it can:
  llama.cpp grammars, OpenAI-style ``response_format``) and the reply is parsed strictly: anything but
  that object (after at most one Markdown code fence) is garbage. Garbage, a failed call or a reply
  outside the scale fails the check with category ``error``; the reply's start is the message.
- ``rubric``: each criterion scored on ``scale``; score = weighted mean of (s - lo) / (hi - lo).
  ``reference``: one score for agreement with ``expected``. ``pairwise``: the output against the
  example's other output (``expected``, or ``against_field``) in both orders, to cancel position bias:
  1 when both orders prefer the output, 0 when both prefer the other, 0.5 (tie) otherwise.
- ``samples: n``: n judgments (``sample_index`` 0..n-1, at ``temperature``); the score is their median.
  Samples that are garbage are left out while at least one is not.
- The judge's reason is the check's message (it reaches the optimizer's feedback).
- ``usage`` of every ``CheckResult``: the judge calls this check made (logical calls: a cached reply
  counts like a fresh one), so the budget charges them to its ``judge`` role.
"""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, replace
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evo.tasks.checks import Check, CheckResult, UserCheckError

Mode = Literal["rubric", "reference", "pairwise"]
REASON_CHARS = 400
SYSTEM = ("You are a strict, impartial grader of AI responses. Judge only what is asked. "
          "Reply with one JSON object and nothing else.")


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_ -]+$")
    description: str = Field(min_length=1, max_length=1000)
    weight: float = Field(1.0, gt=0)


class JudgeOptions(BaseModel):
    """What a judge check asks (the ``llm_judge`` config without ``kind``/``name``/``weight``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    mode: Mode = "rubric"
    criteria: tuple[Criterion, ...] = Field((), description="rubric: what to score, each on the scale")
    scale: tuple[int, int] = Field((1, 5), description="lowest and highest score the judge may give")
    samples: int = Field(1, ge=1, le=15, description="judgments per output (self-consistency); score: their median")
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(200, ge=16, le=4000, description="of each judge reply")
    against_field: str | None = Field(None, description="pairwise: the input field holding the other output; "
                                      "default: `expected`")
    input_fields: tuple[str, ...] | None = Field(None, description="the input fields shown to the judge; "
                                                 "default: all")

    @model_validator(mode="after")
    def _consistent(self):
        lo, hi = self.scale
        if hi <= lo:
            raise ValueError(f"scale {list(self.scale)}: the highest score must exceed the lowest")
        if self.mode == "rubric" and not self.criteria:
            raise ValueError("mode rubric needs `criteria` (a list of {name, description, weight})")
        if self.mode != "rubric" and self.criteria:
            raise ValueError(f"`criteria` are for mode rubric, not {self.mode}")
        names = [c.name for c in self.criteria]
        if len(set(names)) != len(names):
            raise ValueError("criteria names must be unique")
        return self

    @property
    def calls_per_output(self) -> int:
        """Judge calls one output costs."""
        return self.samples * (2 if self.mode == "pairwise" else 1)


@dataclass
class JudgeMeter:
    """The judge calls of one check call."""

    calls: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0
    errors: int = 0

    def to_json(self) -> dict:
        return {"calls": self.calls, "cached": self.cached, "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens, "usd": self.usd, "errors": self.errors}


class JudgeReplyError(UserCheckError):
    """The judge's reply is not the JSON asked for (the message quotes its start)."""


def parse_reply(text: str, schema: dict) -> dict:
    """The JSON object of a judge reply, strictly: the whole reply (or one ```json fence holding it)
    must be one object with the schema's required keys. ``JudgeReplyError`` otherwise."""
    if not isinstance(text, str):
        raise JudgeReplyError(f"judge reply is {type(text).__name__}, not text")
    body = text.strip()
    if body.startswith("```"):
        lines = body.split("\n")
        if len(lines) >= 2 and lines[-1].strip() == "```":
            body = "\n".join(lines[1:-1]).strip()
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise JudgeReplyError(f"judge reply is not JSON: {_quote(text)}") from None
    if not isinstance(data, dict):
        raise JudgeReplyError(f"judge reply is not a JSON object: {_quote(text)}")
    from evo.tasks.json_schema_check import first_error

    problem = first_error(data, schema)
    if problem is not None:
        raise JudgeReplyError(f"judge reply does not follow the format ({problem}): {_quote(text)}")
    return data


def _quote(text: str) -> str:
    flat = " ".join(str(text).split())
    return repr(flat[:120] + ("…" if len(flat) > 120 else ""))


def _score_schema(lo: int, hi: int) -> dict:
    return {"type": "integer", "minimum": lo, "maximum": hi}


def reply_schema(opts: JudgeOptions) -> dict:
    """The JSON Schema of one judge reply in ``opts.mode``."""
    reason = {"type": "string", "maxLength": REASON_CHARS}
    if opts.mode == "rubric":
        scores = {"type": "object", "properties": {c.name: _score_schema(*opts.scale) for c in opts.criteria},
                  "required": [c.name for c in opts.criteria], "additionalProperties": False}
        return {"type": "object", "properties": {"scores": scores, "reason": reason},
                "required": ["scores", "reason"]}
    if opts.mode == "reference":
        return {"type": "object", "properties": {"score": _score_schema(*opts.scale), "reason": reason},
                "required": ["score", "reason"]}
    return {"type": "object", "properties": {"winner": {"enum": ["A", "B", "tie"]}, "reason": reason},
            "required": ["winner", "reason"]}


def render_inputs(inputs: Mapping[str, Any], fields: tuple[str, ...] | None) -> str:
    names = list(fields) if fields is not None else [k for k in inputs if not str(k).startswith("_")]
    lines = []
    for name in names:
        value = inputs.get(name, "")
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        lines.append(f"{name}: {text}")
    return "\n".join(lines) or "(no input)"


def judge_prompt(opts: JudgeOptions, input_text: str, output: str, other: str | None = None,
                 reference: str | None = None) -> str:
    """The user message of one judge call (``other``: pairwise, shown as response B)."""
    lo, hi = opts.scale
    parts = [f"<input>\n{input_text}\n</input>"]
    if opts.mode == "pairwise":
        parts += [f"<response_A>\n{output}\n</response_A>", f"<response_B>\n{other}\n</response_B>",
                  "Which response answers the input better? Reply with JSON: "
                  '{"winner": "A" or "B" or "tie", "reason": "<one sentence>"}']
        return "\n\n".join(parts)
    parts.append(f"<response>\n{output}\n</response>")
    if opts.mode == "reference":
        parts += [f"<reference>\n{reference}\n</reference>",
                  f"Score from {lo} (contradicts or misses the reference) to {hi} (agrees with the reference in "
                  "substance: facts, numbers, conclusions; wording may differ). Reply with JSON: "
                  f'{{"score": <{lo}-{hi}>, "reason": "<one sentence>"}}']
        return "\n\n".join(parts)
    crit = "\n".join(f"- {c.name}: {c.description}" for c in opts.criteria)
    keys = ", ".join(f'"{c.name}": <{lo}-{hi}>' for c in opts.criteria)
    parts += [f"Score the response on each criterion from {lo} (fails it completely) to {hi} (fully meets it):\n{crit}",
              f'Reply with JSON: {{"scores": {{{keys}}}, "reason": "<one sentence on the weakest criterion>"}}']
    return "\n\n".join(parts)


class LLMJudgeCheck(Check):
    kind = "llm_judge"

    def __init__(self, options: JudgeOptions, judge=None, *, name: str | None = None, weight: float = 1.0):
        super().__init__(name=name or f"judge_{options.mode}", weight=weight)
        self.options = options
        self.judge = judge
        self._schema = reply_schema(options)
        self._schema_text = json.dumps(self._schema, sort_keys=True, separators=(",", ":"))

    def bound(self, judge) -> "LLMJudgeCheck":
        """This check with ``judge`` (an ``LLMBackend``) as its model."""
        return LLMJudgeCheck(self.options, judge, name=self.name, weight=self.weight)

    @property
    def judge_calls(self) -> int:
        return self.options.calls_per_output

    def __call__(self, output: str, expected: Any, inputs: Mapping[str, Any]) -> CheckResult:
        meter = JudgeMeter()
        result = self._checked(lambda: self._judge(output, expected, inputs, meter), output, expected)
        return replace(result, usage=meter.to_json())

    def _ask(self, prompt: str, sample: int, meter: JudgeMeter) -> dict:
        from evo.llm.base import LLMRequest

        opts = self.options
        request = LLMRequest(messages=(("user", prompt),), system=SYSTEM, temperature=opts.temperature,
                             max_tokens=opts.max_tokens, sample_index=sample, json_schema=self._schema_text)
        meter.calls += 1
        try:
            response = self.judge.complete(request)
        except Exception as exc:
            meter.errors += 1
            raise UserCheckError(f"judge call failed: {type(exc).__name__}: {exc}") from None
        meter.cached += int(bool(response.cached))
        meter.input_tokens += response.input_tokens
        meter.output_tokens += response.output_tokens
        meter.usd += response.cost_usd
        return parse_reply(response.text, self._schema)

    def _judge(self, output: str, expected: Any, inputs: Mapping[str, Any], meter: JudgeMeter):
        if self.judge is None:
            raise UserCheckError("llm_judge check has no judge model (evaluate it with evo eval/optimize/compare, "
                                 "or bind one: suite.with_judge(backend))")
        opts = self.options
        input_text = render_inputs(inputs, opts.input_fields)
        verdicts: list[tuple[float, str]] = []
        garbage: JudgeReplyError | None = None
        for sample in range(opts.samples):
            try:
                verdicts.append(self._one(input_text, output, expected, inputs, sample, meter))
            except JudgeReplyError as exc:
                garbage = garbage or exc
        if not verdicts:
            raise garbage
        score = statistics.median(v for v, _ in verdicts)
        reason = min(verdicts, key=lambda v: abs(v[0] - score))[1]
        label = f"judge {score:.2f}" + (f" (median of {len(verdicts)})" if len(verdicts) > 1 else "")
        return score, f"{label}: {reason}", "judge_low"

    def _one(self, input_text: str, output: str, expected: Any, inputs: Mapping[str, Any], sample: int,
             meter: JudgeMeter) -> tuple[float, str]:
        opts = self.options
        lo, hi = opts.scale
        if opts.mode == "rubric":
            reply = self._ask(judge_prompt(opts, input_text, output), sample, meter)
            total = sum(c.weight for c in opts.criteria)
            score = sum(c.weight * (reply["scores"][c.name] - lo) / (hi - lo) for c in opts.criteria) / total
            return score, _reason(reply)
        if opts.mode == "reference":
            reply = self._ask(judge_prompt(opts, input_text, output, reference=_text(expected)), sample, meter)
            return (reply["score"] - lo) / (hi - lo), _reason(reply)
        other = _text(inputs.get(opts.against_field) if opts.against_field else expected)
        first = self._ask(judge_prompt(opts, input_text, output, other=other), sample, meter)
        second = self._ask(judge_prompt(opts, input_text, other, other=output), sample, meter)
        return pairwise_verdict(first["winner"], second["winner"]), f"{_reason(first)} / {_reason(second)}"


def pairwise_verdict(output_first: str, output_second: str) -> float:
    """The output's score from two judgments: ``output_first`` with the output shown as A,
    ``output_second`` with it shown as B. 1 or 0 only when both orders agree; else a tie (0.5)."""
    if output_first == "A" and output_second == "B":
        return 1.0
    if output_first == "B" and output_second == "A":
        return 0.0
    return 0.5


def _reason(reply: dict) -> str:
    return " ".join(str(reply.get("reason", "")).split())[:REASON_CHARS]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
