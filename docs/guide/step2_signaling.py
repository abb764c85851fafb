"""Step 2 of docs/guide: talk to peercall's signaling server like the browser SDK does.

Run a server, then this script:

    PEERCALL_API_KEY=dev-key-0123456789 peercall serve --port 8080 &
    python docs/guide/step2_signaling.py --url http://127.0.0.1:8080 --api-key dev-key-0123456789

It creates a room and two join tokens over REST, opens two WebSockets, joins both, and
relays one (fake) offer from Alice to Bob: the server adds ``from`` and passes it on.
"""

from __future__ import annotations

import argparse
import asyncio
import json

import httpx
import websockets


async def main(url: str, api_key: str) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as api:
        room = (await api.post("/api/rooms", json={"name": "guide step 2"})).json()["id"]
        tokens = {
            who: (await api.post(f"/api/rooms/{room}/tokens", json={"identity": who})).json()["token"]
            for who in ("alice", "bob")
        }
    ws_url = url.replace("http", "ws", 1) + "/ws"
    async with websockets.connect(ws_url) as alice, websockets.connect(ws_url) as bob:
        await alice.send(json.dumps({"type": "join", "v": 1, "token": tokens["alice"]}))
        joined_a = json.loads(await alice.recv())
        print("alice <-", joined_a["type"], "peer_id", joined_a["peer_id"], "ice_servers", joined_a["ice_servers"])
        await bob.send(json.dumps({"type": "join", "v": 1, "token": tokens["bob"]}))
        joined_b = json.loads(await bob.recv())
        print("bob   <-", joined_b["type"], "peers already there:", [p["identity"] for p in joined_b["peers"]])
        print("alice <-", json.loads(await alice.recv())["type"])  # peer-joined (Bob)
        offer = {"type": "offer", "to": joined_b["peer_id"], "sdp": "v=0\r\n(a real SDP comes from createOffer)\r\n"}
        await alice.send(json.dumps(offer))
        relayed = json.loads(await bob.recv())
        print("bob   <-", relayed["type"], "from", relayed["from"], repr(relayed["sdp"][:40]))
        await alice.send(json.dumps({"type": "leave"}))
        print("bob   <-", json.loads(await bob.recv()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.url, args.api_key))
