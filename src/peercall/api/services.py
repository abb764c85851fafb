"""The long-lived objects of one node, built once at start-up and shared by every route."""

from __future__ import annotations

from dataclasses import dataclass, field

from peercall.auth.api_keys import ApiKeyRing
from peercall.auth.tokens import TokenIssuer
from peercall.config import Settings
from peercall.hub.base import Hub
from peercall.hub.memory import MemoryHub
from peercall.recording.service import RecordingService
from peercall.recording.store import RecordingStore
from peercall.rooms.resume import ResumeKeeper
from peercall.rooms.service import RoomService
from peercall.signaling.session import SessionLimits
from peercall.signaling.websocket import SignalingConfig, SignalingEndpoint
from peercall.store import SqlStore, Store, open_store
from peercall.turn.ice_servers import IceServerProvider


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
    draining: bool = field(default=False)
    recordings: RecordingService | None = field(default=None)

    async def close(self) -> None:
        await self.keeper.close()
        if self.recordings is not None:
            await self.recordings.close()
        await self.store.close()


async def build_services(settings: Settings) -> Services:
    store = await open_store(settings.resolved_database_url())
    hub: Hub = MemoryHub()
    rooms = RoomService(store, hub)
    tokens = TokenIssuer(settings.resolved_token_secret())
    ice = IceServerProvider.from_settings(settings)
    keeper = ResumeKeeper(rooms, settings.resume_grace_s)
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
        ),
    )
    recordings = None
    if isinstance(store, SqlStore):
        recordings = RecordingService(
            settings, RecordingStore(store.engine), rooms, hub, settings.resolved_token_secret()
        )
        await recordings.start()
    return Services(
        recordings=recordings,
        settings=settings,
        store=store,
        hub=hub,
        rooms=rooms,
        tokens=tokens,
        api_keys=ApiKeyRing(settings.all_api_keys()),
        ice=ice,
        signaling=signaling,
        keeper=keeper,
    )
