"""Hashed, scoped API keys, the audit log, CORS and HSTS against a real server."""

from __future__ import annotations

import hashlib
import json
import ssl
from pathlib import Path

import httpx
import pytest

from peercall.auth.api_keys import ApiKeyRing, scoped_keys
from peercall.config import ApiKeySettings
from peercall.errors import PeercallError
from peercall.testing import API_KEY, start_server, stop_server

MONITOR = "monitor-key-0123456789abcdef"
OPS = "ops-key-0123456789abcdefghij"


def test_security_api_key_ring_keeps_only_digests_and_enforces_scope():
    monitor = ApiKeySettings(name="mon", scope="read", key_sha256=hashlib.sha256(MONITOR.encode()).hexdigest())
    ring = ApiKeyRing(["legacy-plain-key-0123456789", *scoped_keys([monitor])])
    assert "legacy-plain-key" not in repr(vars(ring)) and MONITOR not in repr(vars(ring))
    assert ring.check("Bearer legacy-plain-key-0123456789", "admin").name == "key-1"  # old config = admin
    assert ring.check(f"Bearer {MONITOR}").scope == "read"
    with pytest.raises(PeercallError) as info:
        ring.check(f"Bearer {MONITOR}", "write")
    assert info.value.code == "forbidden"
    with pytest.raises(PeercallError) as info:
        ring.check(f"Bearer {MONITOR}x")
    assert info.value.code == "unauthorized"


def test_security_scoped_keys_audit_log_cors_and_hsts(tmp_path: Path):
    keys = [
        {"name": "monitor", "scope": "read", "key": MONITOR},
        {"name": "ops", "scope": "write", "key_sha256": hashlib.sha256(OPS.encode()).hexdigest()},
    ]
    env = {"PEERCALL_SCOPED_API_KEYS": json.dumps(keys), "PEERCALL_CORS_ORIGINS": '["https://dashboard.example"]'}
    server = start_server(tmp_path, extra_env=env)
    try:
        base = server.base_url

        def call(method: str, path: str, key: str, **kw: object) -> httpx.Response:
            return httpx.request(method, base + path, headers={"Authorization": f"Bearer {key}"}, **kw)  # type: ignore[arg-type]

        room = server.create_room()  # the legacy PEERCALL_API_KEY, admin
        assert call("GET", f"/api/rooms/{room}", MONITOR).status_code == 200
        denied = call("DELETE", f"/api/rooms/{room}", MONITOR)
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
        assert call("POST", "/api/rooms", MONITOR, json={}).status_code == 403
        assert call("GET", "/api/audit", OPS).status_code == 403  # audit needs admin
        assert call("POST", f"/api/rooms/{room}/tokens", OPS, json={"identity": "x"}).status_code == 201
        assert call("DELETE", f"/api/rooms/{room}", OPS).status_code == 204
        entries = call("GET", "/api/audit", API_KEY).json()["entries"]
        actions = [(e["actor"], e["action"], e["detail"].get("room_id")) for e in entries]
        assert actions[:3] == [
            ("ops", "delete_room", room),
            ("ops", "create_token", room),
            ("key-1", "create_room", None),
        ]
        assert not any(e["actor"] == "monitor" for e in entries), "refused and read-only calls are not actions"

        # CORS: the configured dashboard origin may read; any other origin gets no CORS grant.
        ok = httpx.get(f"{base}/api/rooms", headers={"Origin": "https://dashboard.example"})
        assert ok.headers.get("access-control-allow-origin") == "https://dashboard.example"
        evil = httpx.get(f"{base}/api/rooms", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers
        assert "strict-transport-security" not in ok.headers  # plain HTTP: no HSTS
    finally:
        stop_server(server)
    (tmp_path / "tls").mkdir()
    tls = start_server(tmp_path / "tls", args=["--tls", "auto"])
    try:
        context = ssl.create_default_context(cafile=str(tls.data_dir / "tls" / "cert.pem"))
        page = httpx.get(f"{tls.base_url}/call", verify=context)
        assert page.headers["strict-transport-security"].startswith("max-age=31536000")
        assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    finally:
        stop_server(tls)
