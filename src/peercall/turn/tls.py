"""TLS for TURNS checks: a verifying client context, exact failure reasons, certificate facts.

aioice hands an ``ssl.SSLContext`` to asyncio and, inside aiortc, swallows the handshake
error (no candidate, no log); here the error is caught and turned into a reason.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from peercall.turn.failures import ProbeFailure

# OpenSSL X509_V_ERR_* codes that mean "this certificate is not trusted or not valid".
_CERT_CODES = {
    9: "not yet valid",
    10: "expired",
    18: "self-signed",
    19: "self-signed CA in the chain",
    20: "issuer unknown (missing intermediate certificate or untrusted CA)",
    21: "issuer unknown (cannot verify the first certificate)",
}
_NAME_MISMATCH = {62, 63, 64}  # host name, e-mail, IP address mismatch
EXPIRY_WARNING_DAYS = 14


def client_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """System trust plus ``ca_file``; certificate and name always verified; TLS 1.2+."""
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@dataclass
class TlsInfo:
    """What the server's certificate says; ``sni`` is the name we asked for and verified."""

    sni: str | None
    version: str | None = None
    subject: str | None = None
    issuer: str | None = None
    names: list[str] = field(default_factory=list)
    not_after: str | None = None
    days_left: float | None = None

    def warnings(self) -> list[str]:
        if self.days_left is not None and self.days_left < EXPIRY_WARNING_DAYS:
            return [f"TLS certificate expires in {self.days_left:.1f} days ({self.not_after})"]
        return []


def describe_certificate(der: bytes | None, sni: str | None, version: str | None = None) -> TlsInfo:
    info = TlsInfo(sni=sni, version=version)
    if not der:
        return info
    cert = x509.load_der_x509_certificate(der)
    info.subject = cert.subject.rfc4514_string()
    info.issuer = cert.issuer.rfc4514_string()
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        info.names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        info.names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        pass
    not_after = cert.not_valid_after_utc
    info.not_after = not_after.isoformat()
    info.days_left = round((not_after - datetime.datetime.now(datetime.UTC)).total_seconds() / 86400, 2)
    return info


def info_from_transport(transport: asyncio.BaseTransport, sni: str | None) -> TlsInfo:
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return TlsInfo(sni=sni)
    return describe_certificate(ssl_object.getpeercert(binary_form=True), sni, ssl_object.version())


def classify(exc: ssl.SSLError, sni: str | None, unverified: TlsInfo | None) -> ProbeFailure:
    """The precise reason a handshake failed, with what the certificate really says."""
    seen = ""
    if unverified is not None and unverified.subject:
        names = ", ".join(unverified.names) or "none"
        seen = f" (server certificate: {unverified.subject}, names: {names}, issuer: {unverified.issuer})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        if code in _NAME_MISMATCH:
            return ProbeFailure("tls_name", f"TLS certificate is not valid for {sni!r}{seen}")
        what = _CERT_CODES.get(code, exc.verify_message)
        return ProbeFailure("tls_certificate", f"TLS certificate invalid: {what}{seen}")
    return ProbeFailure("tls_handshake", f"TLS handshake failed: {exc.reason or exc}")


async def fetch_unverified(host: str, port: int, sni: str | None, timeout: float) -> TlsInfo | None:
    """Handshake without verification, only to describe a certificate that failed verification."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=sni or ""), timeout
        )
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    try:
        return info_from_transport(writer.transport, sni)
    finally:
        writer.close()
