"""What the router's HTTP endpoints accept and answer: request and answer models (validation and the
OpenAPI schemas), the documented error codes, and the checks of features and render contexts."""
from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from bandit.store import ARM_ID_PATTERN, MAX_LABEL
from bandit.validation import check_features
from evo.config_base import StrictConfig


class RouteBody(StrictConfig):
    input: dict[str, Any] | None = Field(None, description="the request's input fields, filled into the arm's "
                                         "input template; without it the answer carries only the genome")
    task: str | None = Field(None, description="which task's template and demos (default: the arm's first task)")
    features: dict[str, Any] = Field(default_factory=dict, description="request features, logged for the reward model")
    subject_id: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$",
                                   description="a user or session: it keeps the arm it was first given (sticky "
                                               "routing) until the router's sticky TTL ends or the arm is retired")
    episode_id: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$",
                                   description="groups this decision with others for episode-level metrics "
                                               "(POST /feedback with episode_id)")


class ChatMessage(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class RenderedRequest(BaseModel):
    system: str = Field(description="system text")
    messages: list[ChatMessage] = Field(description="few-shot demos as chat turns, then the user turn")
    model: str = Field(description="model name from the genome ('' = the server's default model)")
    temperature: float
    max_tokens: int
    stop: list[str]


class RouteAnswer(BaseModel):
    decision_id: str = Field(description="send it back with the reward")
    arm_id: str
    request: RenderedRequest | None = Field(description="ready to send; null when no input was given")
    genome: dict[str, Any]


class RewardBody(StrictConfig):
    decision_id: str = Field(min_length=1)
    reward: float


class FeedbackBody(StrictConfig):
    metric: str = Field(min_length=1, max_length=40, description="a metric the router declares (rollout YAML)")
    value: float | bool
    decision_id: str | None = Field(None, min_length=1, max_length=64, description="for a decision-level metric")
    episode_id: str | None = Field(None, min_length=1, max_length=128, description="for an episode-level metric")


class FeedbackAnswer(BaseModel):
    ok: bool
    decisions: int = Field(description="decisions the value reached (an episode's several)")
    rewarded: int = Field(description="of which rewarded by it (the routing objective)")


class RewardAnswer(BaseModel):
    ok: bool
    arm_id: str


class ArmBody(StrictConfig):
    arm_id: str | None = Field(None, pattern=ARM_ID_PATTERN, description="default: the genome's id")
    genome: dict[str, Any]
    label: str = Field("", max_length=MAX_LABEL, pattern=r"^[^\x00-\x1f\x7f]*$",
                       description="a name for people (no control characters)")
    production: bool = False
    replace: bool = Field(False, description="swap the genome of an existing arm id (its statistics restart and "
                          "its decisions still waiting for a reward are voided)")
    context: dict[str, Any] | None = Field(None, description="render context (task templates and demos) as written "
                                           "by `evo bandit deploy`; without it the template is '{input}'")


class CompleteAnswer(BaseModel):
    decision_id: str = Field(description="send it back with the reward")
    arm_id: str
    text: str = Field(description="the model's whole output")
    answer: str = Field(description="the part the checks would judge (after 'Answer:' with chain-of-thought)")
    input_tokens: int
    output_tokens: int
    latency_s: float


class ErrorAnswer(BaseModel):
    detail: Any = Field(description="what is wrong: a sentence, or pydantic's list of field errors")


def errors(*codes: int) -> dict:
    text = {401: "missing bearer token", 403: "wrong token, or admin endpoints disabled", 404: "unknown id",
            409: "conflict (see detail)", 413: "request body or features too large", 422: "invalid request",
            429: "too many /complete calls from this client (see detail)",
            501: "no model configured (start the server with --llm-config)", 502: "the model call failed",
            503: "the store is unavailable"}
    return {c: {"model": ErrorAnswer, "description": text[c]} for c in codes}


def body_schema(model: type[BaseModel], required: bool = True) -> dict:
    return {"requestBody": {"required": required, "content": {"application/json": {
        "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")}}}}


def json_response(payload, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def invalid(exc: ValidationError) -> Response:
    detail = exc.errors(include_url=False, include_context=False, include_input=False)
    return json_response({"detail": [{**e, "loc": ["body", *e["loc"]]} for e in detail]}, 422)


def features_problem(features: dict, max_bytes: int) -> Response | None:
    """None when ``features`` can be stored faithfully and fit ``max_bytes`` as JSON; else the 422/413."""
    reason = check_features(features)
    if reason:
        return json_response({"detail": reason}, 422)
    size = len(orjson.dumps(features))
    if size > max_bytes:
        return json_response({"detail": f"features take {size} bytes as JSON; the limit is {max_bytes}"}, 413)
    return None


def context_problem(context: dict) -> str | None:
    """None when a deploy's render context is usable: a mapping of tasks with valid input templates
    (plain ``{field}`` only) and demos; else a one-line reason."""
    from evo.tasks.template import parse_template

    tasks = context.get("tasks")
    if not isinstance(tasks, dict) or not tasks:
        return "'tasks' must be a non-empty mapping"
    if context.get("default_task") not in tasks:
        return "'default_task' must name one of 'tasks'"
    for name, spec in tasks.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("input_template"), str):
            return f"tasks.{name[:40]}.input_template must be a string"
        try:
            parse_template(spec["input_template"])
        except ValueError as exc:
            return f"tasks.{name[:40]}.input_template: {exc}"
        demos = spec.get("demos", [])
        if not isinstance(demos, list) or not all(isinstance(d, dict) and isinstance(d.get("inputs"), dict)
                                                   and "id" in d for d in demos):
            return f"tasks.{name[:40]}.demos must be a list of {{id, inputs, expected}}"
    return None
