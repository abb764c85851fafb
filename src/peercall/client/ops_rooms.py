"""Client operations: health, rooms, join tokens, calls, moderation, security."""

from __future__ import annotations

from typing import Any, Literal

from peercall.api.calls_stats import CallStatsOut
from peercall.api.chat import ChatTranscript
from peercall.api.moderation import ModerationOut
from peercall.api.schemas import CallList, IceServersOut, ReconnectList, RoomList, RoomOut, TokenOut
from peercall.api.security import AuditList, TokenRevoked
from peercall.client._call import Call, as_json, as_none, as_text, model, op, query, seg

Role = Literal["host", "participant"]
ModerationAction = Literal["mute_audio", "disable_video", "stop_screen", "remove", "ask_unmute", "ask_video"]


# ---- health and metrics ------------------------------------------------------
@op("GET", "/healthz")
def health() -> Call[dict[str, Any]]:
    """The process is up."""
    return Call("GET", "/healthz", as_json)


@op("GET", "/readyz")
def ready() -> Call[dict[str, Any]]:
    """The node takes calls (store reachable, not draining); raises with 503 otherwise."""
    return Call("GET", "/readyz", as_json)


@op("GET", "/metrics")
def metrics() -> Call[str]:
    """Prometheus metrics of this node (text format)."""
    return Call("GET", "/metrics", as_text)


# ---- rooms, tokens, calls ----------------------------------------------------
@op("POST", "/api/rooms")
def create_room(
    name: str | None = None, max_participants: int = 2, settings: dict[str, Any] | None = None
) -> Call[RoomOut]:
    """Create a room (settings: recording, chat_archive, max_file_bytes, ...)."""
    body = {"name": name, "max_participants": max_participants, "settings": settings or {}}
    return Call("POST", "/api/rooms", model(RoomOut), json=body)


@op("GET", "/api/rooms")
def list_rooms() -> Call[RoomList]:
    """Every live room with its participants."""
    return Call("GET", "/api/rooms", model(RoomList))


@op("GET", "/api/rooms/{room_id}")
def get_room(room_id: str) -> Call[RoomOut]:
    """One room and who is in it now."""
    return Call("GET", f"/api/rooms/{seg(room_id)}", model(RoomOut))


@op("DELETE", "/api/rooms/{room_id}")
def delete_room(room_id: str) -> Call[None]:
    """End the call and delete the room (everyone is disconnected)."""
    return Call("DELETE", f"/api/rooms/{seg(room_id)}", as_none)


@op("POST", "/api/rooms/{room_id}/tokens")
def create_token(
    room_id: str, identity: str, role: Role = "participant", name: str | None = None, ttl: int | None = None
) -> Call[TokenOut]:
    """A signed join token and link for one user of your system."""
    body = query(identity=identity, role=role, name=name, ttl=ttl)
    return Call("POST", f"/api/rooms/{seg(room_id)}/tokens", model(TokenOut), json=body)


@op("GET", "/api/rooms/{room_id}/calls")
def list_calls(room_id: str) -> Call[CallList]:
    """Call history of a room (participants, durations, end reasons)."""
    return Call("GET", f"/api/rooms/{seg(room_id)}/calls", model(CallList))


@op("GET", "/api/rooms/{room_id}/calls/{call_id}/reconnects")
def list_reconnects(room_id: str, call_id: str) -> Call[ReconnectList]:
    """A call's reconnect timeline (cause, steps, time to recover)."""
    return Call("GET", f"/api/rooms/{seg(room_id)}/calls/{seg(call_id)}/reconnects", model(ReconnectList))


@op("GET", "/api/calls/{call_id}/stats")
def call_stats(call_id: str) -> Call[CallStatsOut]:
    """A call's quality timeline and per-participant summary."""
    return Call("GET", f"/api/calls/{seg(call_id)}/stats", model(CallStatsOut))


@op("GET", "/api/rooms/{room_id}/chat")
def chat_transcript(room_id: str, limit: int | None = None) -> Call[ChatTranscript]:
    """The archived chat of a room with ``chat_archive`` on."""
    return Call("GET", f"/api/rooms/{seg(room_id)}/chat", model(ChatTranscript), params=query(limit=limit))


@op("POST", "/api/rooms/{room_id}/participants/{identity}/{action}")
def moderate(room_id: str, identity: str, action: ModerationAction) -> Call[ModerationOut]:
    """Mute, turn off the camera of, stop the share of, ask, or remove a participant."""
    path = f"/api/rooms/{seg(room_id)}/participants/{seg(identity)}/{seg(action)}"
    return Call("POST", path, model(ModerationOut))


# ---- security ----------------------------------------------------------------
@op("POST", "/api/tokens/revoke")
def revoke_token(token: str) -> Call[TokenRevoked]:
    """Revoke a join link (e.g. leaked): it can no longer join or resume."""
    return Call("POST", "/api/tokens/revoke", model(TokenRevoked), json={"token": token})


@op("GET", "/api/audit")
def audit_log(limit: int | None = None) -> Call[AuditList]:
    """Dashboard actions, newest first (admin key)."""
    return Call("GET", "/api/audit", model(AuditList), params=query(limit=limit))


@op("GET", "/api/ice-servers")
def ice_servers(join_token: str) -> Call[IceServersOut]:
    """STUN/TURN servers with fresh credentials, for a member (join token)."""
    return Call("GET", "/api/ice-servers", model(IceServersOut), token=join_token)
