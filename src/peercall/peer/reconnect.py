"""Keeping the signaling session across socket drops, as the browser SDK does (reconnect.js).

:class:`ResilientSignaling` wraps one :class:`SignalingClient` at a time. When the socket
drops for a retryable reason it *resumes* the session on a new socket (same peer id, the
frames after ``last_seq`` replayed), with the delays of an injectable
:class:`ReconnectPolicy`. When the server no longer knows the session (``resume_failed``,
e.g. it restarted) it *joins again* with the original token; ``session_expired`` (the
grace period is over) ends it with reason ``timeout``. Peer connections are none of its
business: they keep carrying media meanwhile (see :class:`~.peer.Peer`).

A ``drain`` frame (the node is shutting down) makes it leave the socket after a random
delay within the frame's window and resume at once, through the same URL: the balancer
sends the new socket to another node, so one node's clients do not all arrive together.

Iterating it yields the server's frames, each once and in order (numbered frames at or
below ``last_seq`` are dropped), interleaved with :class:`SessionChange` items.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import ssl as ssl_module
import time
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from .signaling_client import SignalingClient
from .wire import Frame, JoinRejected, PeerError, SignalingError

__all__ = [
    "NO_RECONNECT",
    "RECONNECTABLE",
    "BackoffPolicy",
    "Dialer",
    "EndReason",
    "ReconnectPolicy",
    "ResilientSignaling",
    "SessionChange",
    "SignalingState",
    "end_reason_for",
]

logger = logging.getLogger(__name__)

EndReason = Literal["left", "room_ended", "error", "disconnected", "timeout"]
"""Why a Peer ended: ``timeout`` = it was away longer than the server's grace period."""
SignalingState = Literal["connected", "reconnecting", "closed"]

RECONNECTABLE: Final = frozenset(
    {
        "idle_timeout",
        "slow_consumer",
        "hub_unavailable",
        "internal",
        "resume_failed",
        "draining",
        "server_busy",
        "too_many_connections",
    }
)
"""Fatal server error codes after which resuming (or joining again) may succeed (the browser
SDK's RECONNECTABLE, reconnect.js: tests/unit/test_scale_close_codes_sdk.py keeps them equal)."""


REFUSED_FOR_NOW: Final = frozenset({"draining", "server_busy", "hub_unavailable", "too_many_connections"})
"""Join refusals after which another try soon succeeds (the browser SDK's REFUSED_FOR_NOW)."""
FIRST_JOIN_WINDOW_S: Final = 15.0


def end_reason_for(code: str) -> EndReason:
    """The end reason for a fatal, non-retryable error code (as the browser SDK maps it)."""
    if code == "session_expired":
        return "timeout"
    return "room_ended" if code == "room_not_found" else "error"


class ReconnectPolicy(Protocol):
    """When to try again after the signaling socket dropped."""

    @property
    def attempt_timeout(self) -> float:
        """Seconds one resume/join attempt may take."""
        ...

    def next_delay(self, attempt: int, elapsed: float, error: PeerError) -> float | None:
        """Seconds to wait before attempt ``attempt`` (1-based), or None to give up;
        ``elapsed`` is the time since the drop, ``error`` the last failure."""
        ...


@dataclass(frozen=True)
class BackoffPolicy:
    """At once, then often (the network is usually back within seconds), ±``jitter``,
    giving up ``give_up_after`` seconds after the drop (the browser SDK's default)."""

    delays: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0)
    jitter: float = 0.2
    give_up_after: float = 60.0
    attempt_timeout: float = 5.0

    def next_delay(self, attempt: int, elapsed: float, error: PeerError) -> float | None:
        if elapsed > self.give_up_after:
            return None
        base = self.delays[min(attempt, len(self.delays)) - 1]
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


@dataclass(frozen=True)
class _Never:
    attempt_timeout: float = 5.0

    def next_delay(self, attempt: int, elapsed: float, error: PeerError) -> float | None:
        return None


NO_RECONNECT: Final[ReconnectPolicy] = _Never()
"""The Peer ends (``disconnected``) as soon as the signaling socket is lost."""


@dataclass(frozen=True)
class Dialer:
    """How to reach the server again: the base URL, the join token, TLS trust."""

    url: str
    token: str
    ssl: ssl_module.SSLContext | None = None

    async def join(self, timeout: float) -> SignalingClient:
        return await SignalingClient.connect(self.url, self.token, ssl=self.ssl, timeout=timeout)

    async def first_join(self, timeout: float, policy: ReconnectPolicy) -> SignalingClient:
        """The first join, tried again after a refusal-for-now (:data:`REFUSED_FOR_NOW`: the
        balancer sends the next try elsewhere, or the node recovers) with the policy's delays,
        at least 0.25 s apart, within :data:`FIRST_JOIN_WINDOW_S`; as the browser SDK's ``join()``."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        for attempt in itertools.count(1):
            try:
                return await self.join(timeout)
            except JoinRejected as exc:
                if exc.code not in REFUSED_FOR_NOW:
                    raise
                elapsed = loop.time() - started
                delay = policy.next_delay(attempt, elapsed, exc)
                if delay is None or elapsed + max(delay, 0.25) > FIRST_JOIN_WINDOW_S:
                    raise
                logger.info("join refused for now (%s); trying again", exc.code)
                await asyncio.sleep(max(delay, 0.25))
        raise AssertionError("unreachable")

    async def resume(self, resume_token: str, last_seq: int, timeout: float) -> SignalingClient:
        return await SignalingClient.resume(self.url, resume_token, last_seq, ssl=self.ssl, timeout=timeout)


@dataclass(frozen=True)
class SessionChange:
    """``lost``: the socket dropped, reconnecting (``cause``); ``resumed``: same session on a
    new socket; ``rejoined``: a new session (new peer id). ``frame``: ``resumed``/``joined``."""

    kind: Literal["lost", "resumed", "rejoined"]
    frame: Frame | None = None
    cause: str = ""


class ResilientSignaling:
    def __init__(self, client: SignalingClient, dialer: Dialer | None, policy: ReconnectPolicy) -> None:
        self.client = client
        self.state: SignalingState = "connected"
        self.last_seq = 0
        """Highest ``seq`` processed on the current session (a resume replays what follows)."""
        self.resume_token: str | None = client.joined.get("resume_token")
        self.end_reason: EndReason | None = None
        self.error_code: str | None = None
        self._dialer, self._policy = dialer, policy
        self._fatal: str | None = None  # code of a fatal error frame on the current socket
        self._leaving = False  # we sent `leave`: the server closing the socket is expected
        self._up = asyncio.Event()
        self._up.set()
        self._stopped = asyncio.Event()
        self._mover: asyncio.Task[None] | None = None

    @property
    def label(self) -> str:
        return str(self.client.joined.get("peer_id", "?"))

    def __aiter__(self) -> ResilientSignaling:
        return self

    async def __anext__(self) -> Frame | SessionChange:
        while not self._stopped.is_set():
            if self.state == "reconnecting":
                return await self._reconnect()
            try:
                frame = await anext(self.client)
            except StopAsyncIteration:
                if self._stopped.is_set():
                    break
                cause = self._lost()
                if cause is None:
                    break
                return SessionChange("lost", cause=cause)
            seq = frame.get("seq")
            if isinstance(seq, int) and not isinstance(seq, bool):
                if seq <= self.last_seq:
                    logger.debug("dropping %s seq %d (already processed)", frame["type"], seq)
                    continue
                self.last_seq = seq
            if frame["type"] == "error" and frame.get("fatal"):
                self._fatal = str(frame.get("code"))
            elif frame["type"] == "drain":
                self._move_soon(frame)
            return frame
        raise StopAsyncIteration

    async def send(self, frame: Frame, *, wait: float = 0.0) -> None:
        """Send on the current socket, waiting up to ``wait`` s for it while reconnecting."""
        if self.state == "reconnecting" and wait > 0:
            await self.wait_up(wait)
        if self.state != "connected":
            raise SignalingError(f"signaling is {self.state}")
        self._leaving = self._leaving or frame.get("type") == "leave"
        await self.client.send(frame)

    async def wait_up(self, timeout: float) -> bool:
        """Wait until the session is usable; False if it ended or ``timeout`` passed."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._up.wait()
        return self.state == "connected"

    async def close(self) -> None:
        """Stop for good (idempotent): no reconnection, iterations end."""
        self._stopped.set()
        if self._mover is not None:
            self._mover.cancel()
        self._set_state("closed", "closed")
        await self.client.close()

    # -- internals ----------------------------------------------------------------

    def _move_soon(self, frame: Frame) -> None:
        """Leave the draining node's socket after a random delay; the loss resumes elsewhere."""
        within = frame.get("reconnect_within_ms")
        window = within / 1000 if isinstance(within, int | float) and within > 0 else 0.0
        delay = random.uniform(0, window)
        client = self.client
        logger.info("peer %s: node draining, moving in %.2f s", self.label, delay)

        async def move() -> None:
            await asyncio.sleep(delay)
            if self.client is client and self.state == "connected" and not self._stopped.is_set():
                self._fatal = "draining"  # the cause of the loss; retryable
                await client.close()

        if self._mover is None or self._mover.done():
            self._mover = asyncio.create_task(move(), name="signaling-drain-move")

    def _set_state(self, new: SignalingState, why: str) -> None:
        if new != self.state:
            logger.info("peer %s signaling %s -> %s (%s)", self.label, self.state, new, why)
            self.state = new
        if new == "reconnecting":
            self._up.clear()
        else:
            self._up.set()  # wake waiters: usable again, or never again

    def _end(self, reason: EndReason, code: str | None, why: str) -> None:
        self.end_reason, self.error_code = reason, code
        self._set_state("closed", why)

    def _lost(self) -> str | None:
        """The socket closed by itself: the cause if we reconnect, None if the session ended."""
        code, fatal = self.client.close_code, self._fatal
        if self._leaving:
            self._end("left", None, "left")
            return None
        if fatal is not None and fatal not in RECONNECTABLE:
            self._end(end_reason_for(fatal), fatal, f"fatal error {fatal}")
            return None
        cause = fatal or f"socket closed ({code} {self.client.close_reason or ''})".replace(" )", ")")
        if self._dialer is None or isinstance(self._policy, _Never):
            self._end("error" if fatal else "disconnected", fatal, cause)
            return None
        self._set_state("reconnecting", cause)
        return cause

    async def _reconnect(self) -> SessionChange:
        lost_at = time.monotonic()
        error: PeerError = SignalingError("signaling socket lost", close_code=self.client.close_code)
        with contextlib.suppress(Exception):
            await self.client.close()
        for attempt in range(1, 100_000):
            delay = self._policy.next_delay(attempt, time.monotonic() - lost_at, error)
            if delay is None:
                self._end("disconnected", None, f"gave up after {attempt - 1} attempts: {error}")
                raise StopAsyncIteration
            with contextlib.suppress(TimeoutError):  # an interruptible sleep
                await asyncio.wait_for(self._stopped.wait(), max(0.0, delay))
            if self._stopped.is_set():
                raise StopAsyncIteration
            try:
                client, resumed = await self._attempt()
            except JoinRejected as exc:
                if exc.code not in RECONNECTABLE:
                    self._end(end_reason_for(exc.code), exc.code, f"{exc.code} after {attempt} attempts")
                    raise StopAsyncIteration from None
                error = exc
                continue
            except SignalingError as exc:
                logger.debug("peer %s reconnect attempt %d failed: %s", self.label, attempt, exc)
                error = exc
                continue
            except Exception as exc:  # a bug must cost one attempt, not end the call silently
                logger.exception("peer %s reconnect attempt %d raised", self.label, attempt)
                error = SignalingError(f"reconnect attempt raised {exc!r}")
                continue
            if self._stopped.is_set():  # left meanwhile: do not linger in the room
                with contextlib.suppress(SignalingError):
                    await client.send({"type": "leave", "reason": "hangup"})
                await client.close()
                raise StopAsyncIteration
            self.client, self._fatal = client, None
            self.resume_token = client.joined.get("resume_token")
            kind: Literal["resumed", "rejoined"] = "resumed" if resumed else "rejoined"
            self._set_state("connected", f"{kind} after {attempt} attempts, {time.monotonic() - lost_at:.2f} s")
            return SessionChange(kind, client.joined)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self) -> tuple[SignalingClient, bool]:
        assert self._dialer is not None
        timeout = self._policy.attempt_timeout
        if self.resume_token:
            try:
                return await self._dialer.resume(self.resume_token, self.last_seq, timeout), True
            except JoinRejected as exc:
                if exc.code != "resume_failed":
                    raise
                logger.info("peer %s: the server does not know the session; joining again", self.label)
                self.resume_token = None
        client = await self._dialer.join(timeout)
        self.last_seq = 0  # a new session numbers its frames from 1
        return client, False
