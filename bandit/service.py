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

The app is assembled here from three routers (``bandit.http_traffic``: route, complete, reward;
``bandit.http_admin``: arms; ``bandit.http_ops``: healthz, metrics), the auth dependencies
(``bandit.http_auth``), the models (``bandit.http_models``) and the limits (``bandit.http_limits``;
``bandit.http_guard`` for the connection-level ones). This module also runs it: ``ServeConfig``,
``app_from_env`` (the uvicorn factory) and ``serve``.
"""
from __future__ import annotations

import os
import time

import orjson
from fastapi.responses import Response
from fastapi_offline import FastAPIOffline
from pydantic import Field

from bandit.http_admin import arm_routes
from bandit.http_auth import admin_dependency, completion_dependency
from bandit.http_limits import MAX_BODY_BYTES, MAX_FEATURE_BYTES, BodyLimit, ClientRateLimit  # noqa: F401
from bandit.http_models import context_problem, json_response  # noqa: F401 - re-exported
from bandit.http_ops import ops_routes
from bandit.http_traffic import traffic_routes
from bandit.metrics import RouterMetrics
from bandit.router import Router
from evo.config_base import StrictConfig


def create_app(router: Router, admin_token: str | None, *, max_body_bytes: int = MAX_BODY_BYTES,
               max_feature_bytes: int = MAX_FEATURE_BYTES, backend=None, complete_token: str | None = None,
               complete_per_minute: float = 60.0):
    """The router's app. ``backend`` (an ``LLMBackend``, optional) serves ``POST /complete``, which spends
    model money: it needs a bearer token (``complete_token``, else the admin token; off without either)
    and each client address may call it ``complete_per_minute`` times a minute (token bucket)."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = FastAPIOffline(title="evo bandit router", version="2",
                         description="Thompson-sampling router over deployed prompt genomes, with staged "
                                     "rollout. `/route` returns the ready-to-send request.",
                         openapi_tags=[
                             {"name": "traffic", "description": "your application's calls: `/route` picks an arm, "
                              "`/reward` reports how it did, `/complete` routes and calls the model (bearer token)"},
                             {"name": "arms", "description": "what is deployed: list, add and retire arms "
                              "(writes need the admin token)"},
                             {"name": "operations", "description": "health and Prometheus metrics"}])
    metrics = RouterMetrics(router)
    app.add_middleware(BodyLimit, limit=max_body_bytes, metrics=metrics)
    app.include_router(ops_routes(router, metrics))
    app.include_router(traffic_routes(router, metrics, max_feature_bytes=max_feature_bytes, backend=backend,
                                      may_complete=completion_dependency(complete_token or admin_token,
                                                                         complete_per_minute)))
    app.include_router(arm_routes(router, metrics, admin_dependency(admin_token)))

    @app.exception_handler(StarletteHTTPException)  # FastAPI's own (body parsing) and ours (a subclass)
    async def _http_error(_request, exc: StarletteHTTPException):
        if exc.status_code == 400:  # FastAPI's answer to a body that is not JSON; 422 as on every endpoint
            return json_response({"detail": "request body is not valid JSON"}, 422)
        return Response(orjson.dumps({"detail": exc.detail}), status_code=exc.status_code,
                        media_type="application/json", headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request, exc: RequestValidationError):
        detail = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
        return json_response({"detail": detail}, 422)

    return app


# ---- running it -----------------------------------------------------------------------------------------
class ServeConfig(StrictConfig):
    """Everything a worker process needs to build its router and app (passed to workers as JSON)."""

    store: str
    policy: dict
    rollout: dict = Field(default_factory=dict)
    seed: int = 0
    refresh_s: float = Field(0.5, gt=0)
    sticky_ttl_s: float = Field(30 * 86400.0, gt=0, description="how long a subject_id keeps its arm")
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
                  rollout=RolloutConfig.model_validate(cfg.rollout), sticky_ttl_s=cfg.sticky_ttl_s)


def app_from_env():
    """uvicorn factory for worker processes: the config comes from ``$EVO_BANDIT_SERVE_CONFIG``."""
    cfg = ServeConfig.model_validate_json(os.environ[CONFIG_ENV])
    router = build_router(cfg, worker_seed=os.getpid())
    backend = None
    if cfg.llm is not None:
        from evo.evaluation.backend_stack import backend_stack
        from evo.llm.config import parse_backend_config

        backend = backend_stack(parse_backend_config(cfg.llm, "--llm-config"))
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
