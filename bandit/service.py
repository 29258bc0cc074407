"""HTTP service for the router (FastAPI + uvicorn; the only module importing them).

Endpoints: ``POST /route``, ``POST /reward``, ``GET /arms``, admin ``POST /arms`` and
``DELETE /arms/{arm_id}`` (bearer token), ``GET /healthz``; OpenAPI docs at ``/docs``.
Malformed requests get a 4xx whose ``detail`` says what is wrong: 404 unknown decision or arm,
409 duplicate reward or retiring the last production arm, 422 invalid body or reward out of range,
401/403 for admin calls without the right token (admin endpoints are off when no token is set).
"""
from __future__ import annotations

import hmac
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field
from evo.config_base import StrictConfig

from bandit.router import ProductionArmRequired, Router
from bandit.store import DuplicateReward, StoreError, UnknownArm, UnknownDecision


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


def create_app(router: Router, admin_token: str | None) -> FastAPI:
    app = FastAPI(title="evo bandit router", version="1",
                  description="Thompson-sampling router over deployed prompt genomes.")

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
        try:
            d = router.route((body or RouteBody()).features)
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
        router.add_arm(arm_id, genome.to_json(), label=body.label, production=body.production)
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


def serve(router: Router, host: str, port: int, admin_token: str | None, workers_log: str = "warning") -> None:
    import uvicorn

    uvicorn.run(create_app(router, admin_token), host=host, port=port, log_level=workers_log)
