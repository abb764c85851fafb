"""In-call collaboration, server side: the room settings that shape it and the chat archive.

Chat, files, whiteboard and app messages travel peer to peer (docs/collab.md); the
server only sees chat when the room keeps a transcript (``chat_archive``).
"""

from .archive import archive_chat
from .settings import DEFAULT_MAX_FILE_BYTES, CollabSettings, collab_settings

__all__ = ["DEFAULT_MAX_FILE_BYTES", "CollabSettings", "archive_chat", "collab_settings"]
