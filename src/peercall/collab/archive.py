"""The chat archive: a member's copy of each chat message it sends, when the room asks for it.

The message itself went peer to peer; the ``chat-archive`` frame is the compliance copy.
It is validated (bounded id and text), refused when the room does not archive, rate
limited with every other frame by the session, and stored once per message id (a copy
sent again after a reconnect is ignored).
"""

from __future__ import annotations

import time

from peercall.errors import PeercallError
from peercall.signaling.messages import ChatArchive
from peercall.store.base import ChatRecord, Store

from .settings import CollabSettings


async def archive_chat(
    store: Store,
    settings: CollabSettings,
    *,
    room_id: str,
    call_id: str | None,
    identity: str,
    name: str,
    frame: ChatArchive,
) -> bool:
    """Store one message; False when it was already archived. Raises ``forbidden`` when the room does not archive."""
    if not settings.chat_archive:
        raise PeercallError("forbidden", "this room does not keep a chat archive")
    record = ChatRecord(
        room_id=room_id,
        call_id=call_id,
        message_id=frame.id,
        identity=identity,
        name=name,
        sent_at=frame.ts / 1000,
        received_at=time.time(),
        text=frame.text,
    )
    return await store.add_chat_message(record)
