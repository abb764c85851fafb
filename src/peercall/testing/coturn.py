"""A real coturn (``turnserver``) on free loopback ports, for tests and benchmarks.

Its TLS certificate is issued by a throw-away test CA (so clients can trust the CA, as
they would a real one). The configuration is the one ``peercall turn config`` generates;
the default test overlay only allows loopback peer address 127.0.0.2 (``allow-loopback-peers``
+ ``allowed-peer-ip``), where the relays and the probe's echo peer live, so 127.0.0.1 stays
refused as in production.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import ipaddress
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from peercall.turn.coturn_config import CoturnOptions, render_coturn_config
from peercall.turn.ice_servers import turn_credentials

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
PEER_ADDRESS = "127.0.0.2"  # the probe's echo peer in tests: whitelisted in the test overlay
SECRET = "test-turn-secret-0123456789"
REALM = "peercall.test"


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    cert: Path
    key: Path


def make_test_ca(
    directory: Path, names: tuple[str, ...] = ("localhost",), ips: tuple[str, ...] = ("127.0.0.1",)
) -> TlsFiles:
    """A CA and a server certificate it signed for ``names``/``ips``."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "peercall test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    san += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cn = names[0] if names else ips[0]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = TlsFiles(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    paths.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def free_udp_tcp_port(host: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port for both TCP and UDP")


@dataclass
class Coturn:
    host: str
    port: int
    tls_port: int | None
    secret: str
    ca: TlsFiles | None
    process: subprocess.Popen[bytes]
    config_path: Path
    log_path: Path

    def urls(self) -> list[str]:
        """STUN, TURN/UDP, TURN/TCP and (if enabled) TURNS, as handed to clients."""
        hp = f"{self.host}:{self.port}"
        urls = [f"stun:{hp}", f"turn:{hp}?transport=udp", f"turn:{hp}?transport=tcp"]
        if self.tls_port:
            urls.append(f"turns:{self.host}:{self.tls_port}?transport=tcp")
        return urls

    def credentials(self, identity: str = "test", ttl_s: int = 600) -> tuple[str, str]:
        return turn_credentials(self.secret, identity, ttl_s)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def coturn_options(tmp: Path, *, tls: bool = True, production: bool = False, **overrides: object) -> CoturnOptions:
    """Options for a loopback coturn; ``production=True`` leaves out the test overlay."""
    ca = make_test_ca(tmp / "tls") if tls else None
    base = random.randrange(20000, 30000, 200)
    values: dict[str, object] = {
        "realm": REALM,
        "secret": SECRET,
        "listening_ips": ("127.0.0.1",),
        # Relays live on 127.0.0.2 too, so two browser relays may talk to each other.
        "relay_ips": (PEER_ADDRESS,),
        "port": free_udp_tcp_port(),
        "tls_port": free_udp_tcp_port(),
        "min_port": base,
        "max_port": base + 199,
        "cert": ca.cert if ca else None,
        "pkey": ca.key if ca else None,
        "log_file": str(tmp / "turnserver.log"),
        "pidfile": tmp / "turnserver.pid",
        "userdb": tmp / "turndb",
    }
    if not production:
        values.update(test_allow_loopback_peers=True, test_allowed_peer_ips=(PEER_ADDRESS,))
    values.update(overrides)
    return CoturnOptions(**values)  # type: ignore[arg-type]


def start_coturn(tmp: Path, options: CoturnOptions | None = None, *, config_text: str | None = None) -> Coturn:
    """Start turnserver with ``options`` (or a ready ``config_text`` plus ``options`` for ports)."""
    tmp.mkdir(parents=True, exist_ok=True)
    options = options or coturn_options(tmp)
    config_path = tmp / "turnserver.conf"
    config_path.write_text(config_text or render_coturn_config(options))
    config_path.chmod(0o600)
    log_path = tmp / "turnserver.out"
    log_file = open(log_path, "wb")  # noqa: SIM115 - kept open for the process lifetime
    # Command-line flags win over the file: keep logs and state in tmp whatever the file says.
    command = [
        TURNSERVER,
        "-c",
        str(config_path),
        "--log-file",
        str(tmp / "turnserver.log"),
        "--pidfile",
        str(tmp / "turnserver.pid"),
        "--userdb",
        str(tmp / "turndb"),
    ]
    process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, cwd=tmp, preexec_fn=_die_with_parent)
    ca = None
    if options.cert is not None:
        ca = TlsFiles(options.cert.parent / "ca.pem", options.cert, options.pkey or options.cert)
    host = options.listening_ips[0] if options.listening_ips else "127.0.0.1"
    coturn = Coturn(
        host,
        options.port,
        options.tls_port if options.tls else None,
        options.secret,
        ca,
        process,
        config_path,
        log_path,
    )
    _wait_ready(coturn)
    return coturn


def _die_with_parent() -> None:
    """Linux: SIGTERM turnserver when the test process dies, even by SIGKILL (no stray relays)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_ready(coturn: Coturn, timeout_s: float = 10) -> None:
    ports = [coturn.port] + ([coturn.tls_port] if coturn.tls_port else [])
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if coturn.process.poll() is not None:
            raise RuntimeError(f"turnserver exited early:\n{coturn.log()}")
        if all(_tcp_open(coturn.host, port) for port in ports):
            return
        time.sleep(0.05)
    stop_coturn(coturn)
    raise RuntimeError(f"turnserver did not start listening:\n{coturn.log()}")


def _tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def stop_coturn(coturn: Coturn) -> None:
    coturn.process.terminate()
    try:
        coturn.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        coturn.process.kill()
        coturn.process.wait()
