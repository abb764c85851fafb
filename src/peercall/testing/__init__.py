"""Helpers to drive a real peercall node from tests and benchmarks (not used by the server)."""

from peercall.testing.server import API_KEY, ROOT, ServerProcess, free_port, start_server, stop_server

__all__ = ["API_KEY", "ROOT", "ServerProcess", "free_port", "start_server", "stop_server"]
