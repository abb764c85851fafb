"""FastAPI dependencies: the node's services and the two kinds of credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from peercall.api.services import Services
from peercall.auth.tokens import JoinClaims
from peercall.errors import PeercallError

_bearer = HTTPBearer(auto_error=False, description="API key (dashboard) or join token (client)")


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


ServicesDep = Annotated[Services, Depends(services)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require_api_key(svc: ServicesDep, credentials: Credentials) -> None:
    """Dashboard routes: ``Authorization: Bearer <api key>``."""
    header = f"Bearer {credentials.credentials}" if credentials else None
    svc.api_keys.check(header)


def require_join_token(svc: ServicesDep, credentials: Credentials) -> JoinClaims:
    """Client routes: ``Authorization: Bearer <join token>``."""
    if credentials is None:
        raise PeercallError("token_missing", "send 'Authorization: Bearer <join token>'")
    return svc.tokens.verify(credentials.credentials)


ApiKey = Depends(require_api_key)
JoinToken = Annotated[JoinClaims, Depends(require_join_token)]
