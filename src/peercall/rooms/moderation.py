"""Moderator controls: what a host (or the dashboard) may do to another member.

The server enforces who may act; the target's SDK carries the command out (mute its
mic, release its camera, stop sharing) and announces its new media state. Asking to
unmute/turn the camera on is only a prompt: the participant decides — unless the room
setting ``allow_host_unmute`` says students agreed to be unmuted directly.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

from peercall.auth.revocation import Revocations
from peercall.errors import PeercallError
from peercall.hub.base import Member
from peercall.rooms.service import RoomService

log = logging.getLogger(__name__)

Action = Literal[
    "mute_audio", "disable_video", "stop_screen", "remove", "ask_unmute", "ask_video", "unmute_audio", "enable_video"
]
ACTIONS: tuple[Action, ...] = (
    "mute_audio",
    "disable_video",
    "stop_screen",
    "remove",
    "ask_unmute",
    "ask_video",
    "unmute_audio",
    "enable_video",
)
_DIRECT_ON = frozenset({"unmute_audio", "enable_video"})


class Moderator:
    def __init__(self, rooms: RoomService) -> None:
        self._rooms = rooms

    async def act(self, room_id: str, actor: Member | None, target_peer_id: str, action: Action) -> Member:
        """Carry out ``action`` on a member. ``actor`` None means the dashboard (API key)."""
        if actor is not None and actor.role != "host":
            raise PeercallError("forbidden", "only a host can moderate other participants")
        if actor is not None and actor.peer_id == target_peer_id:
            raise PeercallError("forbidden", "use your own controls for your own media")
        room = await self._rooms.get_live_room(room_id)
        target = next((m for m in await self._rooms.hub.members(room_id) if m.peer_id == target_peer_id), None)
        if target is None:
            raise PeercallError("participant_not_found", f"peer {target_peer_id!r} is not in this room")
        if action in _DIRECT_ON and not room.settings.get("allow_host_unmute", False):
            raise PeercallError("forbidden", "this room does not allow turning a participant's media on; ask instead")
        by = (
            actor.public() if actor else {"peer_id": None, "identity": "dashboard", "name": "Organiser", "role": "host"}
        )
        log.info("moderation", extra={"room_id": room_id, "action": action, "target": target.peer_id})
        if action == "remove":
            await self._remove(room_id, target, by)
        else:
            await self._rooms.hub.send(room_id, target.peer_id, {"type": "moderation", "action": action, "by": by})
        return target

    async def act_on_identity(self, room_id: str, identity: str, action: Action) -> Member:
        """Dashboard route: the target is named by its identity in the customer's system."""
        target = next((m for m in await self._rooms.hub.members(room_id) if m.identity == identity), None)
        if target is None:
            await self._rooms.get_live_room(room_id)  # 404 room before 404 participant
            raise PeercallError("participant_not_found", f"{identity!r} is not in this call")
        return await self.act(room_id, None, target.peer_id, action)

    async def _remove(self, room_id: str, target: Member, by: dict[str, Any]) -> None:
        """Disconnect the member and keep it out: its join link no longer works in this room."""
        await self._rooms.store.ban(room_id, target.identity, time.time())
        await Revocations(self._rooms.store).revoke_member(room_id, target)
        frame = PeercallError("removed", f"{by['name']} removed you from the call").to_frame()
        await self._rooms.hub.send(room_id, target.peer_id, frame)
        await self._rooms.leave(room_id, target.peer_id, "removed")
