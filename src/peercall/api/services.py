"""The long-lived objects of one node, built once at start-up and shared by every route."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from peercall.auth.api_keys import ApiKeyRing, scoped_keys
from peercall.auth.tokens import TokenIssuer
from peercall.config import Settings
from peercall.hub.base import Hub
from peercall.hub.memory import MemoryHub
from peercall.hub.redis_hub import RedisHub
from peercall.observability.metrics import Metrics
from peercall.observability.server_metrics import ServerMetrics
from peercall.quality.service import StatsService
from peercall.quality.summary import summarize
from peercall.recording.recorder import RecorderService
from peercall.recording.service import RecordingService
from peercall.recording.store import RecordingStore
from peercall.rooms.resume import ResumeKeeper
from peercall.rooms.service import RoomService
from peercall.rooms.sweeper import OrphanSweeper
from peercall.security.signed_urls import UrlSigner
from peercall.signaling.admission import AdmissionLimits
from peercall.signaling.session import SessionLimits
from peercall.signaling.websocket import SignalingConfig, SignalingEndpoint
from peercall.snapshots import SnapshotRequests, SnapshotService, open_snapshots
from peercall.store import SqlStore, Store, open_store
from peercall.store.stats import StatsTimeline
from peercall.turn.ice_servers import IceServerProvider
from peercall.webhooks.dispatcher import DispatchPolicy, WebhookDispatcher
from peercall.webhooks.store import WebhookStore


@dataclass
class Services:
    settings: Settings
    store: Store
    hub: Hub
    rooms: RoomService
    tokens: TokenIssuer
    api_keys: ApiKeyRing
    ice: IceServerProvider
    signaling: SignalingEndpoint
    keeper: ResumeKeeper
    snapshots: SnapshotService
    links: UrlSigner
    draining: bool = field(default=False)
    sweeper: OrphanSweeper | None = None
    stats: StatsService | None = None
    server_metrics: ServerMetrics | None = None
    recordings: RecordingService | None = field(default=None)
    recorder: RecorderService | None = field(default=None)
    webhooks: WebhookDispatcher | None = field(default=None)

    @property
    def sessions_shared(self) -> bool:
        """Sessions live in Redis, so another node can resume them (a drain can move clients)."""
        return isinstance(self.hub, RedisHub)

    async def close(self) -> None:
        if self.sweeper is not None:
            await self.sweeper.stop()
        await self.signaling.close()
        if self.recorder is not None:  # first: its files become tracks and a queued job
            await self.recorder.close()
        await self.keeper.close()
        if isinstance(self.hub, RedisHub):
            await self.hub.close()
        if self.recordings is not None:
            await self.recordings.close()
        if self.stats is not None:  # its queued timeline rows
            await self.stats.timeline.close()
        if self.webhooks is not None:  # last: the above may still emit events (stored, sent after a restart)
            await self.webhooks.close()
        await self.store.close()


async def build_services(settings: Settings, metrics: Metrics | None = None) -> Services:
    store = await open_store(settings.resolved_database_url(), migrate=settings.database_auto_migrate)
    # One node: rooms in memory. Several nodes: rooms in Redis (LiveKit's local vs redis router).
    redis_hub = (
        await RedisHub.connect(settings.redis_url, heartbeat_s=settings.node_heartbeat_s)
        if settings.redis_url
        else None
    )
    hub: Hub = redis_hub or MemoryHub()
    rooms = RoomService(store, hub)
    stats = await _stats_service(settings, store, rooms, metrics)
    webhooks = _webhooks(settings, store, rooms, stats)
    server_metrics = ServerMetrics(metrics) if metrics is not None else None
    tokens = TokenIssuer(
        settings.resolved_token_secret(), key_id=settings.token_key_id, previous=settings.previous_token_keys()
    )
    ice = IceServerProvider.from_settings(settings)
    keeper = ResumeKeeper(rooms, settings.resume_grace_s)
    snapshots = await open_snapshots(store, rooms, settings)
    signaling = SignalingEndpoint(
        rooms,
        tokens,
        ice,
        keeper,
        SignalingConfig(
            allowed_origins=tuple(settings.allowed_origins),
            max_message_bytes=settings.max_message_bytes,
            join_timeout_s=settings.join_timeout_s,
            idle_timeout_s=settings.idle_timeout_s,
            send_queue_max=settings.send_queue_max,
            limits=SessionLimits(
                rate_per_s=settings.rate_limit_per_s,
                burst=settings.rate_limit_burst,
                abuse_threshold=settings.rate_limit_burst,
            ),
            admission=AdmissionLimits(
                max_connections=settings.max_connections,
                max_per_ip=settings.max_connections_per_ip,
                connect_rate_per_ip=settings.connect_rate_per_ip,
                connect_burst_per_ip=settings.connect_burst_per_ip,
                abuse_penalty_s=settings.abuse_penalty_s,
            ),
        ),
        SnapshotRequests(rooms, snapshots.store, settings.snapshot_max_per_minute),
        stats,
        server_metrics,
    )
    links = UrlSigner(settings.resolved_token_secret())
    recordings = recorder = None
    if isinstance(store, SqlStore):
        recordings = RecordingService(settings, RecordingStore(store.engine), rooms, hub, links)
        await recordings.start()
        recorder = RecorderService(settings, rooms, tokens, recordings)
        await recorder.start()
    services = Services(
        recordings=recordings,
        recorder=recorder,
        settings=settings,
        store=store,
        hub=hub,
        rooms=rooms,
        tokens=tokens,
        api_keys=ApiKeyRing([*settings.all_api_keys(), *scoped_keys(settings.scoped_api_keys)]),
        ice=ice,
        signaling=signaling,
        keeper=keeper,
        snapshots=snapshots,
        links=links,
        stats=stats,
        server_metrics=server_metrics,
        webhooks=webhooks,
    )
    if redis_hub is not None:  # several nodes: find members whose node died
        services.sweeper = OrphanSweeper(rooms, keeper, redis_hub, interval_s=settings.node_heartbeat_s / 2)
        services.sweeper.start()
    return services


def _webhooks(settings: Settings, store: Store, rooms: RoomService, stats: StatsService) -> WebhookDispatcher:
    """Webhook deliveries: queued in the store's database, sent by this node's dispatcher."""
    if not isinstance(store, SqlStore):
        raise TypeError("webhooks need a SqlStore")
    policy = DispatchPolicy(
        max_attempts=settings.webhook_max_attempts,
        backoff_base_s=settings.webhook_backoff_base_s,
        backoff_max_s=settings.webhook_backoff_max_s,
        timeout_s=settings.webhook_timeout_s,
        allow_http=settings.webhook_allow_http,
        allow_private=settings.webhook_allow_private,
    )
    dispatcher = WebhookDispatcher(WebhookStore(store.engine), policy)
    rooms.events = dispatcher

    async def quality(call_id: str) -> list[dict[str, Any]]:
        return summarize(await stats.timeline.rows(call_id))

    rooms.quality_summary = quality
    dispatcher.start()
    return dispatcher


async def _stats_service(settings: Settings, store: Store, rooms: RoomService, metrics: Metrics | None) -> StatsService:
    """Call statistics: their timeline tables live beside the core store's, on its engine."""
    if not isinstance(store, SqlStore):
        raise TypeError("the stats timeline needs a SqlStore")
    timeline = StatsTimeline(store.engine, settings.stats_max_rows_per_call)
    await timeline.open()
    return StatsService(rooms, timeline, metrics, rate_per_s=settings.stats_rate_per_s, burst=settings.stats_burst)
