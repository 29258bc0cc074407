"""HTTP service for the router (FastAPI + uvicorn; the only module importing them).

Endpoints: ``POST /route``, ``POST /complete`` (route, call the configured model, answer),
``POST /reward``, ``GET /arms``, admin ``POST /arms`` and
``DELETE /arms/{arm_id}`` (bearer token), ``GET /healthz`` (checks the store), ``GET /metrics``
(Prometheus text format); OpenAPI docs at ``/docs`` and ``/redoc`` with self-hosted assets (no CDN).

``/route`` takes the request's input fields and answers with the ready-to-send request for the chosen
arm: system text, messages (few-shot demos as chat turns), model and sampling settings, rendered by
``evo.evaluation.render.render_live`` (the evaluator's own rendering), plus the genome. ``/route``
and ``/reward`` answer only after their rows are committed (group commit).

Errors get a 4xx whose ``detail`` says what is wrong: 404 unknown decision or arm, 409 duplicate reward,
retiring the last production arm, or re-adding an arm id with another genome (unless
``replace: true``), 413 a body over ``max_body_bytes`` (default 64 KiB) or features over
``max_feature_bytes`` (default 16 KiB, as JSON), 422 invalid body, input that does not fit the arm's
template, or a reward out of range, 401/403 for admin calls without the right token (admin endpoints
are off when no token is set), 503 when the store fails. Decision ids are 128-bit random: a client
cannot reward another client's decision by guessing its id.

The hot endpoints parse and answer with pydantic-core and orjson directly (no thread-pool hop); the
request and answer models below still define their OpenAPI schemas.
"""
from __future__ import annotations

import hmac
import json
import os
import time
from typing import Any, Literal

import orjson
from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field, ValidationError

from bandit.metrics import RouterMetrics
from bandit.router import ProductionArmRequired, Router
from bandit.store import (ARM_ID_PATTERN, MAX_LABEL, ArmConflict, DuplicateReward, StoreError, UnknownArm,
                          UnknownDecision, VoidedDecision)
from bandit.validation import check_features
from evo.config_base import StrictConfig

MAX_BODY_BYTES = 64 * 1024
MAX_FEATURE_BYTES = 16 * 1024


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 before the app reads it (by its
    Content-Length, or while a chunked body streams in). Also times every request for ``/metrics``."""

    def __init__(self, app, limit: int, metrics: RouterMetrics | None = None):
        self.app, self.limit, self.metrics = app, limit, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
        try:
            await self._limited(scope, receive, send_status)
        finally:
            if self.metrics is not None:
                self.metrics.observe(scope["path"], status, time.perf_counter() - start)

    async def _limited(self, scope, receive, send):
        length = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                length = value
                break
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._reject(send)
        message = await receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            body = message.get("body", b"")  # the usual case: the whole body in one message
            if len(body) > self.limit:
                return await self._reject(send)
        else:
            chunks, size, more = [message.get("body", b"")], len(message.get("body", b"")), message.get("more_body", False)
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > self.limit:
                    return await self._reject(send)
                more = message.get("more_body", False)
            body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        await self.app(scope, replay, send)

    async def _reject(self, send):
        payload = json.dumps({"detail": f"request body over {self.limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


# ---- request and answer models (validation and OpenAPI schemas) -----------------------------------------
class RouteBody(StrictConfig):
    input: dict[str, Any] | None = Field(None, description="the request's input fields, filled into the arm's "
                                         "input template; without it the answer carries only the genome")
    task: str | None = Field(None, description="which task's template and demos (default: the arm's first task)")
    features: dict[str, Any] = Field(default_factory=dict, description="request features, logged for the reward model")


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


def _errors(*codes: int) -> dict:
    text = {401: "missing bearer token", 403: "wrong token, or admin endpoints disabled", 404: "unknown id",
            409: "conflict (see detail)", 413: "request body or features too large", 422: "invalid request",
            429: "too many /complete calls from this client (see detail)",
            501: "no model configured (start the server with --llm-config)", 502: "the model call failed",
            503: "the store is unavailable"}
    return {c: {"model": ErrorAnswer, "description": text[c]} for c in codes}


def _body_schema(model: type[BaseModel], required: bool = True) -> dict:
    return {"requestBody": {"required": required, "content": {"application/json": {
        "schema": model.model_json_schema(ref_template="#/components/schemas/{model}")}}}}


def _json(payload, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _invalid(exc: ValidationError) -> Response:
    detail = exc.errors(include_url=False, include_context=False, include_input=False)
    return _json({"detail": [{**e, "loc": ["body", *e["loc"]]} for e in detail]}, 422)


def create_app(router: Router, admin_token: str | None, *, max_body_bytes: int = MAX_BODY_BYTES,
               max_feature_bytes: int = MAX_FEATURE_BYTES, backend=None, complete_token: str | None = None,
               complete_per_minute: float = 60.0):
    """The router's app. ``backend`` (an ``LLMBackend``, optional) serves ``POST /complete``, which spends
    model money: it needs a bearer token (``complete_token``, else the admin token; off without either)
    and each client address may call it ``complete_per_minute`` times a minute (token bucket)."""
    import asyncio

    from evo.errors import BackendError
    from evo.evaluation.render import extract_answer, render_live, request_json

    app = FastAPIOffline(title="evo bandit router", version="2",
                         description="Thompson-sampling router over deployed prompt genomes, with staged "
                                     "rollout. `/route` returns the ready-to-send request.")
    metrics = RouterMetrics(router)
    app.add_middleware(BodyLimit, limit=max_body_bytes, metrics=metrics)
    bearer = HTTPBearer(auto_error=False, description="admin token (`EVO_BANDIT_ADMIN_TOKEN` of the server)")

    def admin(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if not admin_token:
            raise HTTPException(403, "admin endpoints are disabled: start the server with an admin token")
        if credentials is None:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(credentials.credentials.encode(), admin_token.encode()):
            raise HTTPException(403, "wrong admin token")

    completion_token = complete_token or admin_token
    limiter = ClientRateLimit(complete_per_minute)

    def may_complete(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if not completion_token:
            raise HTTPException(403, "/complete is disabled: start the server with a completion or admin token")
        if credentials is None:
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(credentials.credentials.encode(), completion_token.encode()):
            raise HTTPException(403, "wrong token")
        client = request.client.host if request.client else "?"
        if not limiter.allow(client):
            raise HTTPException(429, f"more than {complete_per_minute:g} /complete calls a minute from {client}",
                                headers={"Retry-After": "60"})

    @app.get("/healthz", responses=_errors(503))
    def healthz() -> dict:
        """200 when the store answers, its file exists, its schema is this version's and at least one arm
        is active (``/route`` can answer); 503 saying which of these failed otherwise."""
        try:
            health = router.store.health()
        except Exception as exc:  # noqa: BLE001 - any driver error means unhealthy
            metrics.store_errors.inc()
            return _json({"ok": False, "store": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}, 503)
        return health if health["ok"] else _json(health, 503)

    @app.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    def prometheus() -> Response:
        """Prometheus text format: requests and latency per endpoint, pulls and rewards per arm, store errors."""
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    @app.post("/route", response_model=RouteAnswer, responses=_errors(413, 422, 503),
              openapi_extra=_body_schema(RouteBody, required=False))
    async def route(request: Request):
        """Pick an arm and answer with its rendered request for the given input."""
        raw = await request.body()
        try:
            body = RouteBody.model_validate_json(raw) if raw.strip() else RouteBody()
        except ValidationError as exc:
            return _invalid(exc)
        features = body.features
        if features:
            problem = features_problem(features)
            if problem:
                return problem
        try:
            decision = await router.route_async(features or None)
        except StoreError as exc:
            metrics.store_errors.inc()
            return _json({"detail": str(exc)}, 503)
        rendered = None
        if body.input is not None:
            try:
                rendered = request_json(render_live(decision.prompt, decision.context, body.input, body.task))
            except KeyError as exc:
                return _json({"detail": f"input does not fit arm {decision.arm_id}: missing {exc}"}, 422)
            except (ValueError, IndexError) as exc:
                return _json({"detail": f"input does not fit arm {decision.arm_id}'s template: {exc}"}, 422)
        metrics.decided(decision.arm_id)
        return _json({"decision_id": decision.decision_id, "arm_id": decision.arm_id, "request": rendered,
                      "genome": decision.genome})

    def features_problem(features: dict) -> Response | None:
        reason = check_features(features)
        if reason:
            return _json({"detail": reason}, 422)
        size = len(orjson.dumps(features))
        if size > max_feature_bytes:
            return _json({"detail": f"features take {size} bytes as JSON; the limit is {max_feature_bytes}"}, 413)
        return None

    @app.post("/complete", response_model=CompleteAnswer, responses=_errors(401, 403, 413, 422, 429, 501, 502, 503),
              openapi_extra=_body_schema(RouteBody), dependencies=[Depends(may_complete)])
    async def complete(request: Request):
        """Route, call the server's model with the rendered request, and answer with its output."""
        if backend is None:
            return _json({"detail": "no model configured: start the server with --llm-config"}, 501)
        try:
            body = RouteBody.model_validate_json(await request.body())
        except ValidationError as exc:
            return _invalid(exc)
        if body.input is None:
            return _json({"detail": [{"type": "missing", "loc": ["body", "input"], "msg": "Field required"}]}, 422)
        if body.features and (problem := features_problem(body.features)):
            return problem
        try:
            decision = await router.route_async(body.features or None)
        except StoreError as exc:
            metrics.store_errors.inc()
            return _json({"detail": str(exc)}, 503)
        metrics.decided(decision.arm_id)
        try:
            llm_request = render_live(decision.prompt, decision.context, body.input, body.task)
        except (KeyError, ValueError, IndexError) as exc:
            return _json({"detail": f"input does not fit arm {decision.arm_id}: {exc}"}, 422)
        try:
            response = await asyncio.get_running_loop().run_in_executor(None, backend.complete, llm_request)
        except BackendError as exc:
            return _json({"detail": f"model call failed (decision {decision.decision_id}): {exc}"}, 502)
        return _json({"decision_id": decision.decision_id, "arm_id": decision.arm_id, "text": response.text,
                      "answer": extract_answer(response.text, decision.prompt.chain_of_thought),
                      "input_tokens": response.input_tokens, "output_tokens": response.output_tokens,
                      "latency_s": response.latency_s})

    @app.post("/reward", response_model=RewardAnswer, responses=_errors(404, 409, 413, 422, 503),
              openapi_extra=_body_schema(RewardBody))
    async def reward(request: Request):
        """Record the reward of a decision (once); answers after the reward is committed."""
        try:
            body = RewardBody.model_validate_json(await request.body())
        except ValidationError as exc:
            return _invalid(exc)
        try:
            arm_id = await router.reward_async(body.decision_id, body.reward)
        except UnknownDecision:
            return _json({"detail": f"unknown decision_id {body.decision_id!r}"}, 404)
        except DuplicateReward:
            return _json({"detail": f"decision {body.decision_id!r} was already rewarded"}, 409)
        except VoidedDecision:
            return _json({"detail": f"decision {body.decision_id!r} was voided: its arm's prompt was replaced"}, 409)
        except ValueError as exc:
            return _json({"detail": str(exc)}, 422)
        except StoreError as exc:
            metrics.store_errors.inc()
            return _json({"detail": str(exc)}, 503)
        metrics.rewarded(arm_id, body.reward)
        return _json({"ok": True, "arm_id": arm_id})

    @app.get("/arms", responses=_errors(503))
    def arms() -> dict:
        """Every arm: rollout stage and cap, traffic share, pulls, mean reward with a 95% interval, P(best)."""
        try:
            return {"policy": router.policy_cfg.kind, "arms": router.status()}
        except Exception as exc:  # noqa: BLE001
            metrics.store_errors.inc()
            raise HTTPException(503, f"store: {type(exc).__name__}: {exc}") from None

    @app.post("/arms", status_code=201, dependencies=[Depends(admin)], responses=_errors(401, 403, 409, 413, 422))
    def add_arm(body: ArmBody) -> dict:
        """Deploy a genome as an arm (it starts at the first rollout stage unless it is production)."""
        from evo.genome import PromptGenome

        try:
            genome = PromptGenome.from_json(body.genome)
        except Exception as exc:
            raise HTTPException(422, f"genome is not a valid prompt genome: {' '.join(str(exc).split())[:300]}") from None
        if body.context is not None and (reason := context_problem(body.context)):
            raise HTTPException(422, f"context: {reason}")
        arm_id = body.arm_id or genome.id
        try:
            router.add_arm(arm_id, genome.to_json(), label=body.label, production=body.production,
                           replace=body.replace, context=body.context)
        except ArmConflict as exc:
            raise HTTPException(409, str(exc)) from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"arm_id": arm_id}

    @app.delete("/arms/{arm_id}", dependencies=[Depends(admin)], responses=_errors(401, 403, 404, 409))
    def retire_arm(arm_id: str) -> dict:
        """Stop routing to an arm (its statistics and decisions are kept)."""
        try:
            router.retire_arm(arm_id)
        except UnknownArm:
            raise HTTPException(404, f"unknown arm {arm_id!r}") from None
        except ProductionArmRequired as exc:
            raise HTTPException(409, f"refused: {exc}; deploy another production arm first") from None
        return {"ok": True, "retired": arm_id}

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)  # FastAPI's own (body parsing) and ours (a subclass)
    async def _http_error(_request, exc: StarletteHTTPException):
        if exc.status_code == 400:  # FastAPI's answer to a body that is not JSON; 422 as on every endpoint
            return _json({"detail": "request body is not valid JSON"}, 422)
        return Response(orjson.dumps({"detail": exc.detail}), status_code=exc.status_code,
                        media_type="application/json", headers=exc.headers)

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request, exc: RequestValidationError):
        detail = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
        return _json({"detail": detail}, 422)

    return app


class ClientRateLimit:
    """A token bucket per client address: ``per_minute`` calls a minute, bursts up to that many. The
    table of clients is bounded (the oldest entries are dropped past ``max_clients``)."""

    def __init__(self, per_minute: float, max_clients: int = 10_000):
        self.rate, self.burst, self.max_clients = per_minute / 60.0, max(1.0, per_minute), max_clients
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        tokens, last = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.pop(next(iter(self._buckets)))
        return allowed


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


# ---- running it -----------------------------------------------------------------------------------------
class ServeConfig(StrictConfig):
    """Everything a worker process needs to build its router and app (passed to workers as JSON)."""

    store: str
    policy: dict
    rollout: dict = Field(default_factory=dict)
    seed: int = 0
    refresh_s: float = Field(0.5, gt=0)
    admin_token_env: str = "EVO_BANDIT_ADMIN_TOKEN"
    complete_token_env: str = Field("EVO_BANDIT_COMPLETE_TOKEN", description="bearer token of POST /complete "
                                    "(the admin token when unset; /complete is off without either)")
    complete_per_minute: float = Field(60.0, gt=0, description="POST /complete calls per client address a minute")
    max_body_bytes: int = Field(MAX_BODY_BYTES, ge=1024)
    max_feature_bytes: int = Field(MAX_FEATURE_BYTES, ge=16)
    max_header_bytes: int = Field(16 * 1024, ge=1024, description="request line + headers; larger gets 431")
    header_timeout_s: float = Field(10.0, gt=0, description="a request head must arrive within this (else 408)")
    body_timeout_s: float = Field(30.0, gt=0, description="a request body must arrive within this (else 408)")
    limit_concurrency: int = Field(1000, ge=1, description="connections + requests a worker serves at once "
                                   "(503 past it)")
    max_connections_per_client: int = Field(256, ge=1, description="open connections per client address")
    retain_decisions_days: float | None = Field(None, gt=0, description="delete decisions older than this "
                                                "(a background task, hourly); None keeps them")
    llm: dict | None = Field(None, description="backend config for POST /complete (as in --llm-config)")


CONFIG_ENV = "EVO_BANDIT_SERVE_CONFIG"


def build_router(cfg: ServeConfig, worker_seed: int | None = None) -> Router:
    from pydantic import TypeAdapter

    from bandit.policies import PolicyConfig
    from bandit.rollout import RolloutConfig
    from bandit.store import ArmStore

    policy = TypeAdapter(PolicyConfig).validate_python(cfg.policy)
    seed = cfg.seed if worker_seed is None else [cfg.seed, worker_seed]
    return Router(ArmStore(cfg.store), policy, seed=seed, refresh_s=cfg.refresh_s,
                  rollout=RolloutConfig.model_validate(cfg.rollout))


def app_from_env():
    """uvicorn factory for worker processes: the config comes from ``$EVO_BANDIT_SERVE_CONFIG``."""
    cfg = ServeConfig.model_validate_json(os.environ[CONFIG_ENV])
    router = build_router(cfg, worker_seed=os.getpid())
    backend = None
    if cfg.llm is not None:
        from evo.llm.config import build_backend, parse_backend_config

        backend = build_backend(parse_backend_config(cfg.llm, "--llm-config"))
    app = create_app(router, os.environ.get(cfg.admin_token_env), max_body_bytes=cfg.max_body_bytes,
                     max_feature_bytes=cfg.max_feature_bytes, backend=backend,
                     complete_token=os.environ.get(cfg.complete_token_env), complete_per_minute=cfg.complete_per_minute)
    from bandit.http_guard import GuardedHttpToolsProtocol

    GuardedHttpToolsProtocol.configure(max_header_bytes=cfg.max_header_bytes, header_timeout_s=cfg.header_timeout_s,
                                       body_timeout_s=cfg.body_timeout_s,
                                       max_connections_per_client=cfg.max_connections_per_client)
    if cfg.retain_decisions_days:
        start_retention(router.store, cfg.retain_decisions_days * 86400.0)
    import gc

    gc.collect()
    gc.freeze()  # the long-lived startup objects leave the collector's scans
    return app


def start_retention(store, older_than_s: float, every_s: float = 3600.0):
    """A daemon thread that deletes decisions older than ``older_than_s`` now and every ``every_s``."""
    import logging
    import threading

    log = logging.getLogger(__name__)

    def loop():
        while True:
            try:
                pruned = store.prune_decisions(older_than_s)
                if pruned:
                    log.info("retention: deleted %d decisions", pruned)
            except Exception as exc:  # noqa: BLE001 - a busy store: try again next time
                log.warning("retention: %s", exc)
            time.sleep(every_s)

    thread = threading.Thread(target=loop, name="decision-retention", daemon=True)
    thread.start()
    return thread


def raise_fd_limit() -> None:
    """Soft limit on open files up to the hard limit: idle connections must not starve ``/route`` of fds."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
        except (ValueError, OSError):
            pass


def serve(cfg: ServeConfig, host: str, port: int, *, workers: int = 1, log_level: str = "warning") -> None:
    """Run uvicorn (uvloop + httptools guarded by ``bandit.http_guard``: head size, read deadlines and
    per-client connections bounded; ``limit_concurrency``; no access log). ``workers > 1`` starts that
    many processes on one port, each with its own router over the shared store."""
    import uvicorn

    raise_fd_limit()
    os.environ[CONFIG_ENV] = cfg.model_dump_json()
    uvicorn.run("bandit.service:app_from_env", factory=True, host=host, port=port, workers=workers,
                loop="uvloop", http="bandit.http_guard:GuardedHttpToolsProtocol", access_log=False,
                log_level=log_level, limit_concurrency=cfg.limit_concurrency, timeout_keep_alive=5)
