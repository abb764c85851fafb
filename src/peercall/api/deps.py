"""FastAPI dependencies: the node's services and the two kinds of credentials."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from peercall.api.services import Services
from peercall.auth.revocation import Revocations
from peercall.auth.tokens import JoinClaims
from peercall.errors import PeercallError

_bearer = HTTPBearer(auto_error=False, description="API key (dashboard) or join token (client)")


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


ServicesDep = Annotated[Services, Depends(services)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_api_key(request: Request, svc: ServicesDep, credentials: Credentials) -> None:
    """Dashboard routes: ``Authorization: Bearer <api key>``; changing anything needs ``write``.

    The key's name is left on the request for the audit log.
    """
    header = f"Bearer {credentials.credentials}" if credentials else None
    key = svc.api_keys.check(header, "read" if request.method in _SAFE_METHODS else "write")
    request.state.api_key_name = key.name


def require_admin_key(request: Request, svc: ServicesDep, credentials: Credentials) -> None:
    """Admin-only routes (the audit log)."""
    header = f"Bearer {credentials.credentials}" if credentials else None
    request.state.api_key_name = svc.api_keys.check(header, "admin").name


async def require_join_token(svc: ServicesDep, credentials: Credentials) -> JoinClaims:
    """Client routes: ``Authorization: Bearer <join token>`` (not revoked)."""
    if credentials is None:
        raise PeercallError("token_missing", "send 'Authorization: Bearer <join token>'")
    return await Revocations(svc.store).check_token(svc.tokens.verify(credentials.credentials))


ApiKey = Depends(require_api_key)
AdminKey = Depends(require_admin_key)
JoinToken = Annotated[JoinClaims, Depends(require_join_token)]
