"""Webhook signatures and the SSRF guard (units of the webhooks integration)."""

from __future__ import annotations

import time

import pytest

from peercall.errors import PeercallError
from peercall.webhooks.signing import WebhookSignatureError, sign, verify
from peercall.webhooks.ssrf import check_destination

BODY = b'{"id":"evt_1","type":"call.ended","data":{"duration_s":61.2}}'
SECRET = "s3cret-for-tests"


def test_integration_webhook_signature_round_trip_and_refusals():
    header = sign(BODY, SECRET)
    assert verify(BODY, header, SECRET) == int(header.split(",")[0][2:])
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify(BODY.replace(b"61.2", b"1.2"), header, SECRET)  # altered body
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify(BODY, header, "another-secret")
    old = sign(BODY, SECRET, timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify(BODY, old, SECRET)  # a captured delivery replayed an hour later
    # Re-signing with a new timestamp needs the secret: swapping t alone breaks the MAC.
    forged = old.replace(old.split(",")[0], f"t={int(time.time())}")
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify(BODY, forged, SECRET)
    for bad in (None, "", "v1=abc", "t=123", "t=abc,v1=00"):
        with pytest.raises(WebhookSignatureError):
            verify(BODY, bad, SECRET)
    # During a secret rotation a delivery may carry two signatures: either one verifies.
    rotated = f"{header},v1={sign(BODY, 'old-secret').split('v1=')[1]}"
    assert verify(BODY, rotated, "old-secret") and verify(BODY, rotated, SECRET)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10:8443/hook",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://localhost/hook",
        "https://100.64.0.1/hook",  # carrier-grade NAT
    ],
)
async def test_integration_webhook_private_destinations_are_refused(url: str):
    with pytest.raises(PeercallError) as refused:
        await check_destination(url, allow_http=False, allow_private=False)
    assert refused.value.code == "webhook_url_forbidden"


async def test_integration_webhook_url_rules():
    await check_destination("https://93.184.216.34/hook", allow_http=False, allow_private=False)  # public literal
    for url, code in (
        ("http://93.184.216.34/hook", "webhook_url_forbidden"),  # plain http refused by default
        ("ftp://93.184.216.34/", "invalid_webhook_url"),
        ("https://user:pw@93.184.216.34/", "invalid_webhook_url"),
        ("https:///nohost", "invalid_webhook_url"),
    ):
        with pytest.raises(PeercallError) as refused:
            await check_destination(url, allow_http=False, allow_private=False)
        assert refused.value.code == code, url
    await check_destination("http://127.0.0.1:9/x", allow_http=True, allow_private=True)  # tests, development
