"""The request description every client operation builds, and the operation registry.

A builder returns a :class:`Call` (method, path, query, body, credentials, a parser); the
sync and async clients only send it. ``OPERATIONS`` maps each builder to its
``(METHOD, path template)``: a test compares it with the live server's OpenAPI both ways.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP request and how to read its answer. ``token``: a join token or upload key to
    send instead of the client's API key (client-side routes)."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = None


OPERATIONS: dict[str, tuple[str, str]] = {}
BUILDERS: dict[str, Callable[..., Call[Any]]] = {}


def op(method: str, template: str) -> Callable[[Callable[..., Call[T]]], Callable[..., Call[T]]]:
    """Register a builder as the client method for ``METHOD template``."""

    def register(builder: Callable[..., Call[T]]) -> Callable[..., Call[T]]:
        OPERATIONS[builder.__name__] = (method, template)
        BUILDERS[builder.__name__] = builder
        return builder

    return register


def model(cls: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: cls.model_validate(response.json())


def as_json(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return body


def as_none(response: httpx.Response) -> None:
    return None


def as_bytes(response: httpx.Response) -> bytes:
    return response.content


def as_text(response: httpx.Response) -> str:
    return response.text


def seg(value: str) -> str:
    """A path segment from a value (never let a caller's string change the path)."""
    return quote(str(value), safe="")


def query(**values: Any) -> dict[str, Any]:
    """Keyword arguments that were given (None: leave the server's default)."""
    return {k: v for k, v in values.items() if v is not None}
