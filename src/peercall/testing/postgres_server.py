"""A throwaway PostgreSQL server on a free loopback port, for integration tests and benches.

``initdb`` into a fresh directory, then ``postgres`` in the foreground (a child we can kill).
PostgreSQL refuses to run as root: as root the cluster is owned by, and runs as, the
``postgres`` system user that the Debian package creates (``Popen(user=...)``, so the
server stays our direct child and a signal reaches it). Durability is
switched off (``fsync=off``): this is a test server, and it makes DDL-heavy tests fast.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_SUPERUSER = "peercall"
_SEARCH = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")


@dataclass
class PostgresServer:
    process: subprocess.Popen[bytes]
    port: int
    datadir: Path
    _bin: Path
    _user: str | None

    def url(self, database: str = "postgres", driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database (one per test keeps tests independent); returns its asyncpg URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"bad database name {name!r}")
        argv = [str(self._bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", _SUPERUSER, name]
        _run(argv, self._user, self.datadir, check=True)
        return self.url(name)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(2)  # SIGINT: "fast" shutdown (SIGTERM waits for clients)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.datadir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(argv: list[str], user: str | None, cwd: Path, *, check: bool = False) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, check=check, capture_output=True, timeout=120, user=user, group=user, cwd=cwd)


def _bindir() -> Path:
    for candidate in _SEARCH:
        if (Path(candidate) / "postgres").exists():
            return Path(candidate)
    found = shutil.which("postgres")
    if found is None:
        raise RuntimeError("PostgreSQL is not installed (scripts/setup.sh installs the apt package)")
    return Path(found).resolve().parent


def start_postgres(*, port: int | None = None, timeout_s: float = 30) -> PostgresServer:
    """initdb + postgres on 127.0.0.1; raises RuntimeError with its log if it does not come up.

    The data directory is a fresh ``/tmp/peercall-pg-*`` (pytest's own tmp dirs are private
    to root, which the ``postgres`` user could not enter); :meth:`PostgresServer.stop` removes it.
    """
    bindir, port = _bindir(), port or _free_port()
    datadir = Path(tempfile.mkdtemp(prefix="peercall-pg-"))
    user: str | None = None
    if os.geteuid() == 0:
        user = "postgres"
        owner = pwd.getpwnam(user)
        os.chown(datadir, owner.pw_uid, owner.pw_gid)
    pgdata = datadir / "data"
    init = [str(bindir / "initdb"), "-D", str(pgdata), "-U", _SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"]
    result = _run(init, user, datadir)
    if result.returncode != 0:
        shutil.rmtree(datadir, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {result.stderr.decode(errors='replace')[-2000:]}")
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(datadir),
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "200",
        "shared_buffers": "32MB",
    }
    argv = [str(bindir / "postgres"), "-D", str(pgdata)]
    for key, value in settings.items():
        argv += ["-c", f"{key}={value}"]
    log_path = datadir / "postgres.log"
    with log_path.open("ab") as log:  # a file, not a pipe: a full pipe would stall the server
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, user=user, group=user, cwd=datadir)
    server = PostgresServer(process, port, datadir, bindir, user)
    ready = [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", _SUPERUSER]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log_path.read_text(errors="replace")
            shutil.rmtree(datadir, ignore_errors=True)
            raise RuntimeError(f"postgres exited with {process.returncode}: {output[-2000:]}")
        with contextlib.suppress(subprocess.TimeoutExpired):
            if _run(ready, user, datadir).returncode == 0:
                return server
        time.sleep(0.1)
    output = log_path.read_text(errors="replace")
    server.stop()
    raise RuntimeError(f"postgres did not answer on port {port} within {timeout_s} s: {output[-2000:]}")
