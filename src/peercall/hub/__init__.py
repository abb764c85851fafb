"""Room membership and message routing between signaling connections.

:class:`Hub` is the seam for scale-out: :class:`MemoryHub` serves one node; a Redis
backend (later) routes between nodes with the same interface.
"""

from peercall.hub.base import Deliver, Hub, JoinOutcome, Member
from peercall.hub.memory import MemoryHub

__all__ = ["Deliver", "Hub", "JoinOutcome", "Member", "MemoryHub"]
