"""Signaling protocol v1: message schemas, the per-connection session, the WebSocket adapter."""

PROTOCOL_VERSION = 1
