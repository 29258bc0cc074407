"""HTTP service for the router (FastAPI + uvicorn; the only module importing them).

Endpoints: ``POST /route``, ``POST /reward``, ``GET /arms``, admin ``POST /arms`` and
``DELETE /arms/{arm_id}`` (bearer token), ``GET /healthz``; OpenAPI docs at ``/docs``.
Malformed requests get a 4xx whose ``detail`` says what is wrong: 404 unknown decision or arm,
409 duplicate reward, retiring the last production arm, or re-adding an arm id with another genome
(unless ``replace: true``), 413 a body over ``max_body_bytes`` (default 64 KiB) or features over
``max_feature_bytes`` (default 16 KiB, as JSON), 422 invalid body or reward out of range, 401/403 for
admin calls without the right token (admin endpoints are off when no token is set). Decision ids are
128-bit random: a client cannot reward another client's decision by guessing its id.
"""
from __future__ import annotations

import hmac
from typing import Any

import json

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field
from evo.config_base import StrictConfig

from bandit.router import ProductionArmRequired, Router
from bandit.store import ArmConflict, DuplicateReward, StoreError, UnknownArm, UnknownDecision

MAX_BODY_BYTES = 64 * 1024
MAX_FEATURE_BYTES = 16 * 1024


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 before the app reads it (by its
    Content-Length, or while a chunked body streams in)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._reject(send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await self._reject(send)
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

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


class RouteBody(StrictConfig):
    features: dict[str, Any] = Field(default_factory=dict, description="request features, logged for the reward model")


class RouteAnswer(BaseModel):
    decision_id: str
    arm_id: str
    genome: dict[str, Any]


class RewardBody(StrictConfig):
    decision_id: str = Field(min_length=1)
    reward: float


class ArmBody(StrictConfig):
    arm_id: str | None = Field(None, description="default: the genome's id")
    genome: dict[str, Any]
    label: str = ""
    production: bool = False
    replace: bool = Field(False, description="swap the genome of an existing arm id (its statistics restart)")


def create_app(router: Router, admin_token: str | None, *, max_body_bytes: int = MAX_BODY_BYTES,
               max_feature_bytes: int = MAX_FEATURE_BYTES) -> FastAPI:
    app = FastAPI(title="evo bandit router", version="1",
                  description="Thompson-sampling router over deployed prompt genomes.")
    app.add_middleware(BodyLimit, limit=max_body_bytes)

    def admin(authorization: str | None = Header(None)) -> None:
        if not admin_token:
            raise HTTPException(403, "admin endpoints are disabled: start the server with an admin token")
        if not authorization or not authorization.startswith("Bearer "):
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(authorization[len("Bearer "):].encode(), admin_token.encode()):
            raise HTTPException(403, "wrong admin token")

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True}

    @app.post("/route", response_model=RouteAnswer)
    def route(body: RouteBody | None = None) -> RouteAnswer:
        features = (body or RouteBody()).features
        size = len(json.dumps(features, separators=(",", ":"), default=str))
        if size > max_feature_bytes:
            raise HTTPException(413, f"features take {size} bytes as JSON; the limit is {max_feature_bytes}")
        try:
            d = router.route(features)
        except StoreError as exc:
            raise HTTPException(503, str(exc)) from None
        return RouteAnswer(decision_id=d.decision_id, arm_id=d.arm_id, genome=d.genome)

    @app.post("/reward")
    def reward(body: RewardBody) -> dict:
        try:
            arm_id = router.reward(body.decision_id, body.reward)
        except UnknownDecision:
            raise HTTPException(404, f"unknown decision_id {body.decision_id!r}") from None
        except DuplicateReward:
            raise HTTPException(409, f"decision {body.decision_id!r} was already rewarded") from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"ok": True, "arm_id": arm_id}

    @app.get("/arms")
    def arms() -> dict:
        return {"policy": router.policy_cfg.kind, "arms": router.status()}

    @app.post("/arms", status_code=201, dependencies=[Depends(admin)])
    def add_arm(body: ArmBody) -> dict:
        from evo.genome import PromptGenome

        try:
            genome = PromptGenome.from_json(body.genome)
        except Exception as exc:
            raise HTTPException(422, f"genome is not a valid prompt genome: {exc}") from None
        arm_id = body.arm_id or genome.id
        try:
            router.add_arm(arm_id, genome.to_json(), label=body.label, production=body.production,
                           replace=body.replace)
        except ArmConflict as exc:
            raise HTTPException(409, str(exc)) from None
        return {"arm_id": arm_id}

    @app.delete("/arms/{arm_id}", dependencies=[Depends(admin)])
    def retire_arm(arm_id: str) -> dict:
        try:
            router.retire_arm(arm_id)
        except UnknownArm:
            raise HTTPException(404, f"unknown arm {arm_id!r}") from None
        except ProductionArmRequired as exc:
            raise HTTPException(409, f"refused: {exc}; deploy another production arm first") from None
        return {"ok": True, "retired": arm_id}

    return app


def serve(router: Router, host: str, port: int, admin_token: str | None, workers_log: str = "warning", *,
          max_body_bytes: int = MAX_BODY_BYTES, max_feature_bytes: int = MAX_FEATURE_BYTES) -> None:
    import uvicorn

    app = create_app(router, admin_token, max_body_bytes=max_body_bytes, max_feature_bytes=max_feature_bytes)
    uvicorn.run(app, host=host, port=port, log_level=workers_log)
