"""Operations endpoints: ``GET /healthz`` (can ``/route`` answer?) and ``GET /metrics`` (Prometheus)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from bandit.http_models import errors, json_response
from bandit.metrics import RouterMetrics
from bandit.router import Router


TAG = "operations"  # the OpenAPI group of these endpoints (/docs)

def ops_routes(router: Router, metrics: RouterMetrics) -> APIRouter:
    api = APIRouter(tags=[TAG])

    @api.get("/healthz", responses=errors(503))
    def healthz() -> dict:
        """200 when the store answers, its file exists, its schema is this version's and at least one arm
        is active (``/route`` can answer); 503 saying which of these failed otherwise."""
        try:
            health = router.store.health()
        except Exception as exc:  # noqa: BLE001 - any driver error means unhealthy
            metrics.store_errors.inc()
            return json_response({"ok": False, "store": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}, 503)
        return health if health["ok"] else json_response(health, 503)

    @api.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    def prometheus() -> Response:
        """Prometheus text format: requests and latency per endpoint, pulls and rewards per arm, store errors."""
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return api
