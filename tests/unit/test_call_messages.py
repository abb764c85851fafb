import json

import pytest

from peercall.errors import ERRORS, PeercallError
from peercall.signaling.messages import IceCandidate, Join, Offer, parse_client_frame, read_client_frame, relay_payload


def error_code(text: str) -> str:
    with pytest.raises(PeercallError) as info:
        parse_client_frame(text)
    return info.value.code


def test_valid_frames_parse():
    assert isinstance(parse_client_frame('{"type":"join","v":1,"token":"t"}'), Join)
    offer = parse_client_frame('{"type":"offer","to":"p_1","sdp":"v=0"}')
    assert isinstance(offer, Offer)
    offer, data = read_client_frame('{"type":"offer","to":"p_1","sdp":"v=0","reset":false}')
    assert isinstance(offer, Offer) and relay_payload(data) == {"type": "offer", "sdp": "v=0", "reset": False}
    end = parse_client_frame('{"type":"ice-candidate","to":"p_1","candidate":null}')
    assert isinstance(end, IceCandidate) and end.candidate is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", "bad_json"),
        ("[1,2]", "bad_json"),
        ('"str"', "bad_json"),
        ('{"type":"nope"}', "unknown_type"),
        ('{"no":"type"}', "unknown_type"),
        ('{"type":"offer","to":"p_1"}', "bad_message"),
        ('{"type":"offer","to":"../etc","sdp":"x"}', "bad_message"),
        ('{"type":"offer","to":"p_1","sdp":"x","extra":1}', "bad_message"),
        ('{"type":"join","v":"one","token":"t"}', "bad_message"),
        ('{"type":"ice-candidate","to":"p","candidate":{"candidate":1}}', "bad_message"),
        # Relayed frames are forwarded as written: strict types, nothing coerced on the way.
        ('{"type":"ice-candidate","to":"p","candidate":{"candidate":"c","sdpMLineIndex":"0"}}', "bad_message"),
        ('{"type":"offer","to":"p_1","sdp":"v=0","reset":1}', "bad_message"),
        ('{"type":"leave","reason":"x"}', "bad_message"),
    ],
)
def test_invalid_frames_get_precise_codes(text, code):
    assert error_code(text) == code


def test_oversized_sdp_rejected():
    frame = json.dumps({"type": "offer", "to": "p_1", "sdp": "a" * 70_000})
    assert error_code(frame) == "bad_message"


def test_deeply_nested_json_is_bad_json_not_a_crash():
    assert error_code("[" * 100_000 + "]" * 100_000) == "bad_json"


def test_every_fatal_error_has_a_close_code():
    for code, kind in ERRORS.items():
        if kind.fatal:
            assert kind.close_code and 4000 <= kind.close_code < 5000, code
