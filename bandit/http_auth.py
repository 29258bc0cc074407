"""Bearer-token dependencies of the router's HTTP service: admin endpoints, and ``POST /complete`` (its
own token or the admin one, plus a per-client rate limit). Tokens are compared in constant time."""
from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bandit.http_limits import ClientRateLimit

bearer = HTTPBearer(auto_error=False, description="admin token (`EVO_BANDIT_ADMIN_TOKEN` of the server)")


def _check(credentials: HTTPAuthorizationCredentials | None, token: str, wrong: str) -> None:
    if credentials is None:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
        raise HTTPException(403, wrong)


def admin_dependency(admin_token: str | None):
    """A dependency: 403 when admin endpoints are off (no token), 401 without a token, 403 for a wrong one."""
    def admin(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if not admin_token:
            raise HTTPException(403, "admin endpoints are disabled: start the server with an admin token")
        _check(credentials, admin_token, "wrong admin token")
    return admin


def completion_dependency(token: str | None, per_minute: float):
    """A dependency for ``POST /complete``: the token as for admin calls, then ``per_minute`` calls a
    minute per client address (429 with ``Retry-After`` past it)."""
    limiter = ClientRateLimit(per_minute)

    def may_complete(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if not token:
            raise HTTPException(403, "/complete is disabled: start the server with a completion or admin token")
        _check(credentials, token, "wrong token")
        client = request.client.host if request.client else "?"
        if not limiter.allow(client):
            raise HTTPException(429, f"more than {per_minute:g} /complete calls a minute from {client}",
                                headers={"Retry-After": "60"})
    return may_complete
