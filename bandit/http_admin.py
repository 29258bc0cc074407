"""Arm endpoints: ``GET /arms`` (status of every arm), admin ``POST /arms`` (deploy a genome) and
``DELETE /arms/{arm_id}`` (retire one); the admin ones need the bearer token."""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from bandit.http_models import ArmBody, context_problem, errors
from bandit.metrics import RouterMetrics
from bandit.router import ProductionArmRequired, Router
from bandit.store import ArmConflict, UnknownArm


TAG = "arms"  # the OpenAPI group of these endpoints (/docs)

def arm_routes(router: Router, metrics: RouterMetrics, admin) -> APIRouter:
    api = APIRouter(tags=[TAG])

    @api.get("/arms", responses=errors(503))
    def arms() -> dict:
        """Every arm: rollout stage and cap, traffic share, pulls, mean reward with a 95% interval, P(best)."""
        try:
            return {"policy": router.policy_cfg.kind, "arms": router.status()}
        except Exception as exc:  # noqa: BLE001
            metrics.store_errors.inc()
            raise HTTPException(503, f"store: {type(exc).__name__}: {exc}") from None

    @api.post("/arms", status_code=201, dependencies=[Depends(admin)], responses=errors(401, 403, 409, 413, 422))
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

    @api.delete("/arms/{arm_id}", dependencies=[Depends(admin)], responses=errors(401, 403, 404, 409))
    def retire_arm(arm_id: str) -> dict:
        """Stop routing to an arm (its statistics and decisions are kept)."""
        try:
            router.retire_arm(arm_id)
        except UnknownArm:
            raise HTTPException(404, f"unknown arm {arm_id!r}") from None
        except ProductionArmRequired as exc:
            raise HTTPException(409, f"refused: {exc}; deploy another production arm first") from None
        return {"ok": True, "retired": arm_id}

    return api
