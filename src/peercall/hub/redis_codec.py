"""The Redis hub's small parts: its error translation and how members and frames are encoded.

Kept apart from :mod:`peercall.hub.redis_hub` so the hub module holds the hub's logic only.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import redis.asyncio as aioredis

from peercall.hub.base import Deliver, Frame, HubUnavailable, Member, encode_frame

# What redis-py raises when Redis does not answer: down, unreachable, or every pooled
# connection busy past POOL_WAIT_S (BlockingConnectionPool raises ConnectionError).
REDIS_DOWN: tuple[type[BaseException], ...] = (aioredis.ConnectionError, aioredis.TimeoutError, TimeoutError)

_P = ParamSpec("_P")
_T = TypeVar("_T")


def hub_call(method: Callable[_P, Coroutine[Any, Any, _T]]) -> Callable[_P, Coroutine[Any, Any, _T]]:
    """A hub method that talks to Redis: an unreachable Redis surfaces as
    :class:`HubUnavailable` (the one exception callers handle), never as a redis-py error.

    Every coroutine method of :class:`RedisHub` that makes a round trip carries it
    (tests/unit/test_scale_redis_hub_unavailable.py checks that none is missed).
    """

    @functools.wraps(method)
    async def translated(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(*args, **kwargs)
        except REDIS_DOWN as exc:
            raise HubUnavailable(f"redis: {exc}") from exc

    translated.hub_call = True  # type: ignore[attr-defined]
    return translated


@dataclass
class LocalAttachment:
    epoch: int
    deliver: Deliver
    seq: int  # highest frame number handed to the socket


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def frame_json(frame: Frame) -> str:
    """A frame without its number (the script numbers it), encoded as on the wire."""
    return encode_frame({k: v for k, v in frame.items() if k != "seq"})


def member_from(raw: str) -> Member:
    data = json.loads(raw)
    data.pop("_order", None)
    media = data.get("media")
    # cjson turns an empty object into an empty array; media always has keys, but be safe.
    data["media"] = dict(media) if isinstance(media, dict) else {}
    return Member(**data)


def ordered_members(raws: list[str]) -> list[Member]:
    return [member_from(raw) for raw in sorted(raws, key=lambda raw: json.loads(raw).get("_order", 0))]
