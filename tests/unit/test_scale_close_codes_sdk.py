"""Every WebSocket close code the server can send reads as the right error in the SDKs.

The server sends an `error` frame before closing; the close code alone is the fallback
(the frame lost with the socket, a proxy that passes only the close). The browser SDK maps
close codes to error codes (wire.js CLOSE_CODES): a code missing there reads as a plain
lost connection (e.g. 4503 `server_busy` did). Both tables are read here: the server's
(peercall.errors.ERRORS) and the SDK's, through its own closeError(). Whether a failure is
worth reconnecting after is the same in the browser SDK and the Python peer.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from peercall.errors import ERRORS
from peercall.peer.reconnect import RECONNECTABLE
from peercall.testing.jsmodel import node_available, run_sdk_script

SCRIPT = r"""
const SDK = process.argv[2];
const { closeError } = await import(`${SDK}/wire.js`);
const { isReconnectable } = await import(`${SDK}/reconnect.js`);
const { PeercallError, ErrorCode } = await import(`${SDK}/errors.js`);
const { closeCodes, errorCodes } = JSON.parse(%s);
const closes = {};
for (const code of closeCodes) {
  const error = closeError({ code, reason: '' });
  closes[code] = [error.code, isReconnectable(error)];
}
const reconnectable = errorCodes.filter((code) => isReconnectable(new PeercallError(code, code, { fatal: true })));
console.log(JSON.stringify({ closes, reconnectable, known: Object.values(ErrorCode) }));
"""


def server_close_codes() -> dict[int, set[str]]:
    """Close code → the server error codes closing with it (several share 4001, 4008, 4029)."""
    table: dict[int, set[str]] = defaultdict(set)
    for code, kind in ERRORS.items():
        if kind.fatal:
            assert kind.close_code is not None, f"fatal {code!r} without a close code"
            table[kind.close_code].add(code)
    return dict(table)


@pytest.fixture(scope="module")
def sdk() -> dict[str, object]:
    if not node_available():
        pytest.skip("node is not installed")
    inputs = {"closeCodes": sorted(server_close_codes()), "errorCodes": sorted(ERRORS)}
    result: dict[str, object] = run_sdk_script(SCRIPT % json.dumps(json.dumps(inputs)))
    return result


def test_scale_every_server_close_code_has_an_sdk_error(sdk: dict[str, object]) -> None:
    closes = sdk["closes"]
    assert isinstance(closes, dict)
    for close_code, codes in server_close_codes().items():
        sdk_code, _ = closes[str(close_code)]
        assert sdk_code != "connection_lost", f"close code {close_code} ({sorted(codes)}) is missing in wire.js"
        assert sdk_code in codes, f"close code {close_code} reads as {sdk_code!r}, the server means {sorted(codes)}"


def test_scale_server_busy_close_is_retried(sdk: dict[str, object]) -> None:
    """4503: the node is at its connection limit; a reconnecting client tries again later
    (the policy's backoff, given up after a minute) instead of ending the call."""
    assert ERRORS["server_busy"].close_code == 4503
    assert sdk["closes"] == {**sdk["closes"], "4503": ["server_busy", True]}  # type: ignore[dict-item]
    assert "server_busy" in RECONNECTABLE


def test_scale_sdk_and_python_peer_reconnect_after_the_same_errors(sdk: dict[str, object]) -> None:
    reconnectable = sdk["reconnectable"]
    assert isinstance(reconnectable, list)
    assert RECONNECTABLE.issubset(ERRORS), "the Python peer names an error code the server does not have"
    assert set(reconnectable) == RECONNECTABLE


# Codes only the dashboard's REST calls can get (the SDK never makes those calls).
DASHBOARD_ONLY = {
    "demo_disabled",
    "token_not_revocable",
    "invalid_webhook_url",
    "webhook_url_forbidden",
    "too_many_webhooks",
}


def test_scale_sdk_knows_every_server_error_code(sdk: dict[str, object]) -> None:
    """errors.js lists the codes an SDK user may branch on; a server code missing there was
    how `server_busy` and `token_revoked` went unnoticed."""
    known = sdk["known"]
    assert isinstance(known, list)
    assert set(ERRORS) >= DASHBOARD_ONLY, "a dashboard-only code the server no longer has"
    missing = set(ERRORS) - DASHBOARD_ONLY - set(known)
    assert not missing, f"errors.js lacks server codes {sorted(missing)}"
