"""Relay-only rooms: the server tells clients `ice_transport_policy: relay`; browsers and the
Python peer then connect through coturn only and never learn each other's addresses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from peercall.peer import Peer
from peercall.testing import ServerProcess, start_server, stop_server
from peercall.testing.browser import chromium, wait_decoding
from peercall.testing.coturn import SECRET, Coturn, start_coturn, stop_coturn

pytestmark = pytest.mark.slow

SELECTED_PAIR_JS = """
async () => {
  const report = await window.peercallCall.getStats();
  let out = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      const pair = report.get(s.selectedCandidatePairId);
      const local = report.get(pair.localCandidateId), remote = report.get(pair.remoteCandidateId);
      out = { local: local.candidateType, relayProtocol: local.relayProtocol, remote: remote.candidateType,
              remoteAddress: remote.address };
    }
  });
  return out;
}
"""


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    server = start_coturn(tmp_path_factory.mktemp("coturn"))
    yield server
    stop_coturn(server)


@pytest.fixture(scope="module")
def turn_server(coturn: Coturn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A peercall server whose only TURN region is the test coturn (TURNS left out: untrusted CA)."""
    region = {"region": "local", "host": coturn.host, "port": coturn.port, "tls_port": None}
    env = {"PEERCALL_TURN_SECRET": SECRET, "PEERCALL_TURN_SERVERS": json.dumps([region])}
    server = start_server(tmp_path_factory.mktemp("server"), extra_env=env)
    yield server
    stop_server(server)


async def test_turn_relay_only_room_browsers_connect_through_coturn(turn_server: ServerProcess):
    room = turn_server.create_room(settings={"relay_only": True})
    alice, bob = turn_server.token(room, "alice", "host"), turn_server.token(room, "bob")
    async with chromium() as browser:
        pages = []
        for link in (alice["join_url"], bob["join_url"]):
            page = await (await browser.new_context()).new_page()
            await page.goto(link + "&autojoin=1")
            pages.append(page)
        await asyncio.gather(*(wait_decoding(page) for page in pages))
        for page in pages:
            pair = await page.evaluate(SELECTED_PAIR_JS)
            assert pair["local"] == "relay" and pair["remote"] == "relay", pair
            assert pair["relayProtocol"] in ("udp", "tcp"), pair
            # Privacy: what a peer sees of the other is a relay address, never its own host address.
            assert pair["remoteAddress"].startswith("127.0.0.2"), pair


async def test_turn_relay_only_room_python_peers_use_relay_candidates(turn_server: ServerProcess):
    room = turn_server.create_room(settings={"relay_only": True})
    first = await Peer.join(turn_server.base_url, turn_server.token(room, "bot-a")["token"])
    second = await Peer.join(turn_server.base_url, turn_server.token(room, "bot-b")["token"])
    try:
        await second.wait_connected(timeout=20)
        await second.wait_frames(video=10, timeout=20)
        for peer in (first, second):
            [remote_id] = list(peer.peers)
            pc = peer.remote(remote_id).pc
            assert pc is not None
            gatherer = pc.getTransceivers()[0].receiver.transport.transport.iceGatherer
            types = {c.type for c in gatherer.getLocalCandidates()}
            assert types == {"relay"}, types
    finally:
        await asyncio.gather(first.leave(), second.leave())


async def test_turn_regular_room_is_not_relay_only(turn_server: ServerProcess, tmp_path: Path):
    from peercall.peer.signaling_client import SignalingClient

    room = turn_server.create_room()
    client = await SignalingClient.connect(turn_server.base_url, turn_server.token(room, "carol")["token"])
    try:
        joined = client.joined
        assert joined["ice_transport_policy"] == "all"
        assert joined["ice_servers"][1]["urls"][0].endswith("?transport=udp")
        assert joined["ice_servers"][1]["username"].endswith(":carol")
    finally:
        await client.close()
