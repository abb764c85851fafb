"""A real `peercall serve` process on a free loopback port, for tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
API_KEY = "test-api-key-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    base_url: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/ws"

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.api_key}"}, timeout=10)

    def create_room(self, **body: object) -> str:
        with self.api() as client:
            response = client.post("/api/rooms", json=body or None)
            response.raise_for_status()
            return str(response.json()["id"])

    def token(self, room_id: str, identity: str, role: str = "participant", **extra: object) -> dict:
        with self.api() as client:
            response = client.post(f"/api/rooms/{room_id}/tokens", json={"identity": identity, "role": role, **extra})
            response.raise_for_status()
            return dict(response.json())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(tmp: Path, *, extra_env: dict[str, str] | None = None, args: list[str] | None = None) -> ServerProcess:
    port = free_port()
    data_dir = tmp / "data"
    log_path = tmp / "server.log"
    env = {
        **os.environ,
        "PEERCALL_API_KEY": API_KEY,
        "PEERCALL_DATA_DIR": str(data_dir),
        "PEERCALL_LOG_LEVEL": "info",
        **(extra_env or {}),
    }
    command = [sys.executable, "-m", "peercall.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *(args or [])]
    log_file = open(log_path, "wb")  # noqa: SIM115 - kept open for the process lifetime
    process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)
    scheme = "https" if args and "--tls" in args and args[args.index("--tls") + 1] != "off" else "http"
    base = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # generous: the test machine may be heavily loaded
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1, verify=False).status_code == 200:
                return ServerProcess(base, API_KEY, data_dir, process, log_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not become ready:\n{log_path.read_text()}")


def stop_server(server: ServerProcess) -> int:
    server.process.terminate()
    try:
        return server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        return server.process.wait()
