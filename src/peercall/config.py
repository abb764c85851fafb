"""Server settings: defaults < TOML file < ``PEERCALL_*`` environment < CLI flags.

Everything has an embedded default so ``peercall serve`` runs with no configuration at
all (SQLite in ``./data``, in-memory hub, a generated signing secret kept on disk).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

_ORIGIN_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$"


class TurnServerSettings(BaseModel):
    """One TURN server (coturn) of one region; its URLs follow the robust ICE pattern:
    STUN and TURN/UDP on ``port``, TURN/TCP on ``port``, TURNS (TLS) on ``tls_port``."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(..., pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    host: str = Field(..., pattern=r"^[A-Za-z0-9.:\[\]-]{1,253}$")
    port: int = Field(3478, ge=1, le=65535)
    tls_port: int | None = Field(443, ge=1, le=65535, description="None: no TURNS URL")
    secret: str | None = Field(None, description="Shared secret; default: turn_secret")


class ApiKeySettings(BaseModel):
    """One named, scoped dashboard key; give its SHA-256 so the secret itself is never stored."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    scope: Literal["admin", "write", "read"] = "admin"
    key: str | None = Field(None, min_length=16)
    key_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class Settings(BaseSettings):
    """All knobs of one peercall node. Env names are ``PEERCALL_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="PEERCALL_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    tls: str = Field("off", description="off | auto | CERT,KEY")
    public_url: str | None = Field(None, description="Base URL used in join links")
    data_dir: Path = Path("data")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL: unset, SQLite in data_dir; postgresql+asyncpg://user:pass@host/db for PostgreSQL",
    )
    database_auto_migrate: bool = Field(
        True,
        description="migrate the schema at start; false: run `peercall db upgrade` per release (a node whose "
        "schema is behind refuses to start)",
    )
    redis_url: str | None = Field(
        None,
        description="Redis for the hub (redis://host:port/db): set it on every node to run several nodes; "
        "unset, the hub is in memory (one node)",
    )
    node_heartbeat_s: float = Field(
        5.0, gt=0, le=60, description="With Redis: a node silent for 3 heartbeats is dead; its members are suspended"
    )
    demo: bool = False

    api_key: str | None = Field(None, description="One dashboard API key")
    api_keys: list[str] = Field(default_factory=list)
    token_secret: str | None = None
    token_default_ttl: int = Field(3600, ge=30)
    token_max_ttl: int = Field(86400, ge=60)
    token_key_id: str = Field("k1", pattern=r"^[A-Za-z0-9_.-]{1,32}$", description="kid of token_secret")
    token_previous_keys: list[str] = Field(
        default_factory=list, description="'KID:SECRET' keys still accepted while their tokens expire (rotation)"
    )
    scoped_api_keys: list[ApiKeySettings] = Field(
        default_factory=list, description="Named keys with a scope (admin | write | read), JSON list"
    )
    max_connections: int = Field(
        15_000, ge=1, description="Signaling sockets open at once on this node (each is a file: 20k per process here)"
    )
    max_connections_per_ip: int = Field(100, ge=1, description="Signaling sockets open at once per client IP")
    connect_rate_per_ip: float = Field(10.0, gt=0, description="New signaling sockets per second per IP (average)")
    connect_burst_per_ip: int = Field(100, ge=1)
    abuse_penalty_s: float = Field(
        10.0, ge=0, description="An IP disconnected for flooding may not reconnect for this long"
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed to call the REST API (CORS)")
    hsts_max_age: int = Field(31536000, ge=0, description="Strict-Transport-Security max-age when served over TLS")

    allowed_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed to open the WebSocket; empty = same origin"
    )

    frame_ancestors: str = Field("'self'", description="CSP frame-ancestors: who may embed the call page")
    embed_origins: list[Annotated[str, Field(pattern=_ORIGIN_PATTERN, max_length=256)]] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) of pages that embed the call UI in an iframe: added to "
        "frame-ancestors and trusted by its postMessage API",
    )

    stun_urls: list[str] = Field(default_factory=list)
    turn_urls: list[str] = Field(default_factory=list)
    turn_secret: str | None = None
    turn_ttl: int = Field(3600, ge=60, le=86400)
    turn_servers: list[TurnServerSettings] = Field(
        default_factory=list, description="TURN servers by region (JSON list in PEERCALL_TURN_SERVERS)"
    )
    turn_realm: str = Field("peercall", pattern=r"^[A-Za-z0-9.-]{1,128}$")
    turn_listening_ips: list[str] = Field(default_factory=list, description="coturn listening-ip; empty = all")
    turn_relay_ips: list[str] = Field(default_factory=list, description="coturn relay-ip; empty = automatic")
    turn_external_ip: str | None = Field(None, description="coturn external-ip: PUBLIC or PUBLIC/PRIVATE behind NAT")
    turn_port: int = Field(3478, ge=1, le=65535, description="coturn listening port (UDP and TCP)")
    turn_tls_port: int = Field(443, ge=1, le=65535, description="coturn TLS listening port")
    turn_min_port: int = Field(49152, ge=1024, le=65535)
    turn_max_port: int = Field(65535, ge=1024, le=65535)
    turn_cert: Path | None = Field(None, description="TLS certificate (full chain) for coturn")
    turn_pkey: Path | None = Field(None, description="TLS private key for coturn")
    turn_user_quota: int = Field(12, ge=1, description="Concurrent allocations per TURN username")
    turn_total_quota: int = Field(1200, ge=1, description="Concurrent allocations per coturn server")
    turn_max_bps: int = Field(0, ge=0, description="Per-allocation bandwidth cap in bytes/s; 0 = none")
    turn_monitor_interval: float = Field(0.0, ge=0, description="Seconds between TURN probes; 0 = off")
    turn_monitor_timeout: float = Field(5.0, gt=0, le=60)
    turn_monitor_bind: str | None = Field(None, description="Local address for the probe's sockets")
    turn_monitor_ca: Path | None = Field(None, description="Extra CA to trust for TURNS probes")
    metrics_token: str | None = Field(None, description="Bearer token for /metrics; default: an API key")

    max_message_bytes: int = Field(64 * 1024, ge=1024)
    max_request_bytes: int = Field(64 * 1024, ge=1024)
    snapshot_max_bytes: int = Field(8 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024)
    snapshot_max_pixels: int = Field(40_000_000, ge=10_000, le=200_000_000)
    snapshot_max_per_room: int = Field(500, ge=1)
    snapshot_max_per_minute: int = Field(30, ge=1, description="Snapshots one identity may store per minute")
    rate_limit_per_s: float = Field(50.0, gt=0)
    rate_limit_burst: int = Field(200, ge=1)
    resume_grace_s: float = Field(30.0, gt=0, le=600, description="How long a dropped member's place is kept")
    join_timeout_s: float = Field(10.0, gt=0)
    idle_timeout_s: float = Field(
        15.0, gt=0, description="No frame for this long: the socket is dead (clients ping every 5 s)"
    )
    send_queue_max: int = Field(256, ge=8)
    stats_rate_per_s: float = Field(1.0, gt=0, le=10, description="Call stats reports per second per connection")
    stats_burst: int = Field(3, ge=1, le=50)
    stats_max_rows_per_call: int = Field(20_000, ge=10, description="Stats timeline rows kept per call")
    max_participants_cap: int = Field(4, ge=2, le=16, description="Largest room (a mesh: each sends N-1 times)")
    shutdown_grace_s: float = Field(5.0, ge=0)
    gc_young_threshold: int = Field(
        20_000, ge=100, le=1_000_000, description="Allocations before a young GC collection (CPython: 700)"
    )
    drain_timeout_s: float = Field(
        30.0, ge=0, le=3600, description="SIGTERM: wait this long for clients to move to other nodes (0: exit at once)"
    )
    drain_window_s: float = Field(
        10.0, ge=0, le=600, description="Drained clients reconnect at a random moment within this window"
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["text", "json"] = Field("text", description="json: one JSON object per line")

    # ---- recording (docs/recording.md) ----
    recording_dir: Path | None = Field(None, description="Where recordings live; default: DATA_DIR/recordings")
    recording_crf: int = Field(30, ge=0, le=51, description="x264 CRF of the MP4 (higher: smaller)")
    recording_preset: str = Field("veryfast", pattern=r"^(ultrafast|superfast|veryfast|faster|fast|medium|slow)$")
    recording_tune: Literal["film", "grain", "ssim"] | None = Field(None, description="x264 tune; none by default")
    recording_audio_kbps: int = Field(64, ge=16, le=320)
    recording_threads: int = Field(0, ge=0, le=64, description="x264 threads; 0 = all cores")
    recording_watermark: str | None = Field(None, max_length=120, description="Text; {room} and {time} expand")
    recording_watermark_image: Path | None = Field(None, description="PNG logo overlaid top right")
    recording_retention_days: float = Field(30.0, gt=0, description="Recordings older than this are deleted")
    recording_sweep_s: float = Field(
        60.0, gt=0, le=3600, description="How often recordings left by everyone are salvaged and expired ones deleted"
    )
    recording_max_chunk_bytes: int = Field(8 * 1024 * 1024, ge=64 * 1024)
    recording_max_bytes: int = Field(4 * 1024**3, ge=1024 * 1024, description="Per uploaded track")
    recording_max_chunks: int = Field(20_000, ge=1)
    recording_job_timeout_base_s: float = Field(60.0, gt=0)
    recording_job_timeout_per_media_s: float = Field(3.0, gt=0, description="Allowed seconds per media second")
    recorder_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/]+$",
        description="How the server-side recorder reaches this node's signaling; default: loopback, our port",
    )
    recording_url_ttl: int = Field(
        3600, ge=30, le=3600, description="Signed download link lifetime (recordings, snapshots)"
    )

    # ---- webhooks (docs/webhooks.md) ----
    webhook_allow_private: bool = Field(
        False, description="Allow webhook URLs on private/loopback addresses (never in production: SSRF)"
    )
    webhook_allow_http: bool = Field(False, description="Allow plain-http webhook URLs (tests, local development)")
    webhook_max_attempts: int = Field(8, ge=1, le=30, description="Deliveries given up after this many attempts")
    webhook_backoff_base_s: float = Field(2.0, gt=0, le=3600, description="First retry after ~this; doubles")
    webhook_backoff_max_s: float = Field(600.0, gt=0, le=86_400)
    webhook_timeout_s: float = Field(10.0, gt=0, le=60, description="Per delivery attempt")
    webhook_max_endpoints_per_key: int = Field(20, ge=1, le=1000)

    @field_validator("tls")
    @classmethod
    def _check_tls(cls, value: str) -> str:
        if value in ("off", "auto"):
            return value
        parts = value.split(",")
        if len(parts) != 2 or not all(parts):
            raise ValueError("tls must be 'off', 'auto' or 'CERT,KEY'")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("PEERCALL_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    # ---- derived values -------------------------------------------------
    def all_api_keys(self) -> list[str]:
        keys = list(self.api_keys)
        if self.api_key:
            keys.append(self.api_key)
        return keys

    def previous_token_keys(self) -> dict[str, str]:
        """``token_previous_keys`` as {kid: secret}."""
        pairs = (entry.partition(":") for entry in self.token_previous_keys)
        return {kid: secret for kid, _, secret in pairs if kid and secret}

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'peercall.db'}"

    def resolved_token_secret(self) -> str:
        """The JWT signing secret; generated once and kept in the data dir if not configured."""
        if self.token_secret:
            return self.token_secret
        return _read_or_create_secret(self.data_dir / "token-secret")

    def resolved_recording_dir(self) -> Path:
        return self.recording_dir or self.data_dir / "recordings"

    def tls_files(self) -> tuple[Path, Path] | None:
        if self.tls in ("off", "auto"):
            return None
        cert, key = self.tls.split(",")
        return Path(cert), Path(key)


def _read_or_create_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    # Create with 0600 atomically so the secret is never world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def load_settings(**overrides: Any) -> Settings:
    """Build settings; ``overrides`` (from CLI flags) win over env and TOML."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)
