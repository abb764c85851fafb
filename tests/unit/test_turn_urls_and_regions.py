"""ICE URL parsing, region lists and the relay-only policy."""

import pytest

from peercall.config import Settings, TurnServerSettings
from peercall.turn.ice_servers import IceServerProvider, ice_transport_policy, region_urls
from peercall.turn.urls import IceUrl, expand


def test_turn_url_parse_and_check_kind():
    assert IceUrl.parse("turn:t.example.com:3478?transport=tcp") == IceUrl("turn", "t.example.com", 3478, "tcp")
    assert IceUrl.parse("turns:t.example.com").port == 5349
    assert IceUrl.parse("turns:t.example.com:443?transport=tcp").check == "tls"
    assert IceUrl.parse("stun:[2001:db8::1]:3478").host == "2001:db8::1"
    assert str(IceUrl.parse("stun:[2001:db8::1]:3478")) == "stun:[2001:db8::1]:3478"
    assert IceUrl.parse("turn:1.2.3.4").check == "udp"


@pytest.mark.parametrize(
    "bad", ["http://x", "turn:", "turns:x?transport=udp", "stun:x?transport=tcp", "turn:x:99999", "turn:x y"]
)
def test_turn_url_rejects_malformed(bad: str):
    with pytest.raises(ValueError):
        IceUrl.parse(bad)


def test_turn_expand_adds_stun_and_both_transports():
    checks = [u.check for u in expand(["turn:t:3478", "turns:t:443"])]
    assert checks == ["stun", "udp", "tcp", "tls"]
    assert [u.check for u in expand(["turns:t:443"])] == ["tls"]
    assert [u.check for u in expand(region_urls("t"))] == ["stun", "udp", "tcp", "tls"]


def test_turn_region_urls_follow_the_robust_pattern():
    assert region_urls("turn.example.com") == [
        "stun:turn.example.com:3478",
        "turn:turn.example.com:3478?transport=udp",
        "turn:turn.example.com:3478?transport=tcp",
        "turns:turn.example.com:443?transport=tcp",
    ]
    assert region_urls("2001:db8::1", 3478, None)[0] == "stun:[2001:db8::1]:3478"


def test_turn_regions_from_settings_pick_room_region():
    settings = Settings(
        turn_secret="global-secret-0123456789",
        turn_servers=[
            TurnServerSettings(region="eu", host="eu.example.com"),
            TurnServerSettings(region="us", host="us.example.com", secret="us-secret-0123456789", tls_port=None),
        ],
    )
    provider = IceServerProvider.from_settings(settings)
    stun, turn = provider.for_identity("alice")
    assert stun == {"urls": ["stun:eu.example.com:3478"]}
    assert turn["urls"][0] == "turn:eu.example.com:3478?transport=udp" and len(turn["urls"]) == 3
    assert turn["username"].endswith(":alice")
    servers, policy = provider.for_room("bob", {"turn_region": "us", "relay_only": True})
    assert policy == "relay"
    assert servers[1]["urls"] == ["turn:us.example.com:3478?transport=udp", "turn:us.example.com:3478?transport=tcp"]
    # An unknown region falls back to the default (first) one.
    assert provider.for_room("bob", {"turn_region": "mars"})[0][0]["urls"] == ["stun:eu.example.com:3478"]


def test_turn_region_without_any_secret_is_a_config_error():
    settings = Settings(turn_servers=[TurnServerSettings(region="eu", host="eu.example.com")])
    with pytest.raises(ValueError, match="no secret"):
        IceServerProvider.from_settings(settings)


def test_turn_relay_only_policy_needs_a_real_true():
    assert ice_transport_policy({"relay_only": True}) == "relay"
    assert ice_transport_policy({"relay_only": "yes"}) == "all"
    assert ice_transport_policy({}) == "all"
