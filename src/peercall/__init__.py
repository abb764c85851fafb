"""peercall: peer-to-peer WebRTC video calls."""

__version__ = "0.1.0"
