"""Sending a :class:`~peercall.client._call.Call` over httpx, sync or async, and reading errors.

Both clients share everything but the I/O: the request arguments and the error handling
are built here once.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from peercall.client._call import Call

T = TypeVar("T")
DEFAULT_TIMEOUT_S = 30.0


class PeercallAPIError(Exception):
    """The server refused or failed a request: ``status`` (HTTP), ``code`` (stable, see
    docs/protocol.md errors) and the server's ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def request_args(call: Call[Any], api_key: str | None) -> dict[str, Any]:
    """httpx ``request()`` keyword arguments for a call (credentials: its token, else the API key)."""
    credential = call.token if call.token is not None else api_key
    headers = dict(call.headers)
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    args: dict[str, Any] = {"method": call.method, "url": call.path, "headers": headers}
    if call.params:
        args["params"] = call.params
    if call.json is not None:
        args["json"] = call.json
    if call.content is not None:
        args["content"] = call.content
    return args


def read(call: Call[T], response: httpx.Response) -> T:
    """The parsed answer, or :class:`PeercallAPIError` with the server's error code."""
    if response.status_code >= 400:
        code, message = "http_error", response.text[:500]
        try:
            error = response.json().get("error", {})
            code, message = str(error.get("code", code)), str(error.get("message", message))
        except (ValueError, AttributeError):
            pass
        raise PeercallAPIError(response.status_code, code, message)
    return call.parse(response)


class SyncTransport:
    def __init__(self, base_url: str, api_key: str | None, timeout_s: float, client: httpx.Client | None) -> None:
        self._api_key = api_key
        self._http = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def send(self, call: Call[T]) -> T:
        return read(call, self._http.request(**request_args(call, self._api_key)))

    def close(self) -> None:
        self._http.close()


class AsyncTransport:
    def __init__(self, base_url: str, api_key: str | None, timeout_s: float, client: httpx.AsyncClient | None) -> None:
        self._api_key = api_key
        self._http = client or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)

    async def send(self, call: Call[T]) -> T:
        return read(call, await self._http.request(**request_args(call, self._api_key)))

    async def close(self) -> None:
        await self._http.aclose()
