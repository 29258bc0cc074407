"""Traffic endpoints: ``POST /route`` (pick an arm, answer with its ready-to-send request),
``POST /complete`` (route and call the server's model; token and rate limit) and ``POST /reward``.
The hot endpoints parse and answer with pydantic-core and orjson directly (no thread-pool hop)."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from bandit.http_models import (CompleteAnswer, FeedbackAnswer, FeedbackBody, RewardAnswer, RewardBody, RouteAnswer,
                                RouteBody, body_schema, errors, features_problem, invalid, json_response)
from bandit.metrics import RouterMetrics
from bandit.router import Router
from bandit.store import (DuplicateFeedback, DuplicateReward, StoreError, UnknownDecision, UnknownTarget,
                          VoidedDecision)
from evo.errors import BackendError
from evo.evaluation.render import extract_answer, render_live, request_json


TAG = "traffic"  # the OpenAPI group of these endpoints (/docs)

def traffic_routes(router: Router, metrics: RouterMetrics, *, max_feature_bytes: int, backend, may_complete) -> APIRouter:
    api = APIRouter(tags=[TAG])

    @api.post("/route", response_model=RouteAnswer, responses=errors(413, 422, 503),
              openapi_extra=body_schema(RouteBody, required=False))
    async def route(request: Request):
        """Pick an arm and answer with its rendered request for the given input."""
        raw = await request.body()
        try:
            body = RouteBody.model_validate_json(raw) if raw.strip() else RouteBody()
        except ValidationError as exc:
            return invalid(exc)
        features = body.features
        if features:
            problem = features_problem(features, max_feature_bytes)
            if problem:
                return problem
        try:
            decision = await router.route_async(features or None, body.subject_id, body.episode_id)
        except StoreError as exc:
            metrics.store_errors.inc()
            return json_response({"detail": str(exc)}, 503)
        rendered = None
        if body.input is not None:
            try:
                rendered = request_json(render_live(decision.prompt, decision.context, body.input, body.task))
            except KeyError as exc:
                return json_response({"detail": f"input does not fit arm {decision.arm_id}: missing {exc}"}, 422)
            except (ValueError, IndexError) as exc:
                return json_response({"detail": f"input does not fit arm {decision.arm_id}'s template: {exc}"}, 422)
        metrics.decided(decision.arm_id)
        return json_response({"decision_id": decision.decision_id, "arm_id": decision.arm_id, "request": rendered,
                      "genome": decision.genome})

    @api.post("/complete", response_model=CompleteAnswer, responses=errors(401, 403, 413, 422, 429, 501, 502, 503),
              openapi_extra=body_schema(RouteBody), dependencies=[Depends(may_complete)])
    async def complete(request: Request):
        """Route, call the server's model with the rendered request, and answer with its output."""
        if backend is None:
            return json_response({"detail": "no model configured: start the server with --llm-config"}, 501)
        try:
            body = RouteBody.model_validate_json(await request.body())
        except ValidationError as exc:
            return invalid(exc)
        if body.input is None:
            return json_response({"detail": [{"type": "missing", "loc": ["body", "input"], "msg": "Field required"}]}, 422)
        if body.features and (problem := features_problem(body.features, max_feature_bytes)):
            return problem
        try:
            decision = await router.route_async(body.features or None, body.subject_id, body.episode_id)
        except StoreError as exc:
            metrics.store_errors.inc()
            return json_response({"detail": str(exc)}, 503)
        metrics.decided(decision.arm_id)
        try:
            llm_request = render_live(decision.prompt, decision.context, body.input, body.task)
        except (KeyError, ValueError, IndexError) as exc:
            return json_response({"detail": f"input does not fit arm {decision.arm_id}: {exc}"}, 422)
        try:
            response = await asyncio.get_running_loop().run_in_executor(None, backend.complete, llm_request)
        except BackendError as exc:
            return json_response({"detail": f"model call failed (decision {decision.decision_id}): {exc}"}, 502)
        return json_response({"decision_id": decision.decision_id, "arm_id": decision.arm_id, "text": response.text,
                      "answer": extract_answer(response.text, decision.prompt.chain_of_thought),
                      "input_tokens": response.input_tokens, "output_tokens": response.output_tokens,
                      "latency_s": response.latency_s})

    @api.post("/reward", response_model=RewardAnswer, responses=errors(404, 409, 413, 422, 503),
              openapi_extra=body_schema(RewardBody))
    async def reward(request: Request):
        """Record the reward of a decision (once); answers after the reward is committed."""
        try:
            body = RewardBody.model_validate_json(await request.body())
        except ValidationError as exc:
            return invalid(exc)
        try:
            arm_id = await router.reward_async(body.decision_id, body.reward)
        except UnknownDecision:
            return json_response({"detail": f"unknown decision_id {body.decision_id!r}"}, 404)
        except DuplicateReward:
            return json_response({"detail": f"decision {body.decision_id!r} was already rewarded"}, 409)
        except VoidedDecision:
            return json_response({"detail": f"decision {body.decision_id!r} was voided: its arm's prompt was replaced"}, 409)
        except ValueError as exc:
            return json_response({"detail": str(exc)}, 422)
        except StoreError as exc:
            metrics.store_errors.inc()
            return json_response({"detail": str(exc)}, 503)
        metrics.rewarded(arm_id, body.reward)
        return json_response({"ok": True, "arm_id": arm_id})

    @api.post("/feedback", response_model=FeedbackAnswer, responses=errors(404, 409, 413, 422, 503),
              openapi_extra=body_schema(FeedbackBody))
    async def feedback(request: Request):
        """Record a declared metric's value for a decision or an episode (once per metric); the routing
        objective's value is also the reward of each decision it reaches."""
        try:
            body = FeedbackBody.model_validate_json(await request.body())
        except ValidationError as exc:
            return invalid(exc)
        try:
            outcome = await router.feedback_async(body.metric, float(body.value), decision_id=body.decision_id,
                                                  episode_id=body.episode_id)
        except UnknownTarget as exc:
            return json_response({"detail": str(exc)}, 404)
        except DuplicateFeedback as exc:
            return json_response({"detail": str(exc)}, 409)
        except VoidedDecision:
            return json_response({"detail": f"decision {body.decision_id!r} was voided: its arm's prompt was replaced"},
                                 409)
        except ValueError as exc:
            return json_response({"detail": str(exc)}, 422)
        except StoreError as exc:
            metrics.store_errors.inc()
            return json_response({"detail": str(exc)}, 503)
        return json_response({"ok": True, **outcome})

    return api
