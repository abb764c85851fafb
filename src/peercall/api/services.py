"""The long-lived objects of one node, built once at start-up and shared by every route."""

from __future__ import annotations

from dataclasses import dataclass, field

from peercall.auth.api_keys import ApiKeyRing, scoped_keys
from peercall.auth.tokens import TokenIssuer
from peercall.config import Settings
from peercall.hub.base import Hub
from peercall.hub.memory import MemoryHub
from peercall.rooms.resume import ResumeKeeper
from peercall.rooms.service import RoomService
from peercall.signaling.admission import AdmissionLimits
from peercall.signaling.session import SessionLimits
from peercall.signaling.websocket import SignalingConfig, SignalingEndpoint
from peercall.store import Store, open_store
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

    async def close(self) -> None:
        await self.keeper.close()
        await self.store.close()


async def build_services(settings: Settings) -> Services:
    store = await open_store(settings.resolved_database_url())
    hub: Hub = MemoryHub()
    rooms = RoomService(store, hub)
    tokens = TokenIssuer(
        settings.resolved_token_secret(), key_id=settings.token_key_id, previous=settings.previous_token_keys()
    )
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
            admission=AdmissionLimits(
                max_connections=settings.max_connections,
                max_per_ip=settings.max_connections_per_ip,
                connect_rate_per_ip=settings.connect_rate_per_ip,
                connect_burst_per_ip=settings.connect_burst_per_ip,
                abuse_penalty_s=settings.abuse_penalty_s,
            ),
        ),
    )
    return Services(
        settings=settings,
        store=store,
        hub=hub,
        rooms=rooms,
        tokens=tokens,
        api_keys=ApiKeyRing([*settings.all_api_keys(), *scoped_keys(settings.scoped_api_keys)]),
        ice=ice,
        signaling=signaling,
        keeper=keeper,
    )
