"""STUN/TURN: the ICE server list handed to clients, with short-lived TURN credentials."""

from peercall.turn.ice_servers import IceServerProvider, turn_credentials

__all__ = ["IceServerProvider", "turn_credentials"]
