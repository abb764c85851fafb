"""Rooms and call sessions: the domain layer between the edges (API, signaling) and hub/store."""

from peercall.rooms.service import RoomService

__all__ = ["RoomService"]
