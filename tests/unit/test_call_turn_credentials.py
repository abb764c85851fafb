import base64
import hashlib
import hmac

from peercall.turn.ice_servers import IceServerProvider, turn_credentials


def test_turn_rest_credentials_match_coturn_scheme():
    username, password = turn_credentials("secret", "alice", 600, now=1_000_000)
    assert username == "1000600:alice"
    expected = base64.b64encode(hmac.new(b"secret", b"1000600:alice", hashlib.sha1).digest()).decode()
    assert password == expected


def test_ice_server_list_shape():
    provider = IceServerProvider(["stun:s:3478"], ["turn:t:3478?transport=udp", "turns:t:443"], "k", 600)
    stun, turn = provider.for_identity("bob")
    assert stun == {"urls": ["stun:s:3478"]}
    assert turn["urls"] == ["turn:t:3478?transport=udp", "turns:t:443"] and turn["username"].endswith(":bob")
    assert IceServerProvider([], [], None, 600).for_identity("bob") == []
