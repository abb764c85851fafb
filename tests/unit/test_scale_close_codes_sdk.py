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
from peercall.peer.reconnect import RECONNECTABLE, REFUSED_FOR_NOW
from peercall.testing.jsmodel import node_available, run_sdk_script

SCRIPT = r"""
const SDK = process.argv[2];
const { closeError } = await import(`${SDK}/wire.js`);
const { isReconnectable, firstJoin, DEFAULT_RECONNECT_POLICY } = await import(`${SDK}/reconnect.js`);
const { PeercallError, ErrorCode } = await import(`${SDK}/errors.js`);
const { closeCodes, errorCodes } = JSON.parse(%s);
const closes = {};
for (const code of closeCodes) {
  const error = closeError({ code, reason: '' });
  closes[code] = [error.code, isReconnectable(error)];
}
const reconnectable = errorCodes.filter((code) => isReconnectable(new PeercallError(code, code, { fatal: true })));
// The first join tried again after this refusal (connect fails once with it, then succeeds)?
const refusedForNow = [];
for (const code of errorCodes) {
  let calls = 0;
  const connect = async () => {
    if (calls++ === 0) throw new PeercallError(code, code, { fatal: true });
    return 'session';
  };
  const joined = await firstJoin(connect, DEFAULT_RECONNECT_POLICY, async () => {}).catch(() => null);
  if (joined === 'session') refusedForNow.push(code);
}
console.log(JSON.stringify({ closes, reconnectable, refusedForNow, known: Object.values(ErrorCode) }));
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


def test_scale_sdk_and_python_peer_retry_the_same_first_join_refusals(sdk: dict[str, object]) -> None:
    """The first join's refusals-for-now (browser ``firstJoin``, Python ``Dialer.first_join``)
    are one set, and each of them is also worth reconnecting after."""
    refused_for_now = sdk["refusedForNow"]
    assert isinstance(refused_for_now, list)
    assert set(refused_for_now) == REFUSED_FOR_NOW
    assert REFUSED_FOR_NOW <= RECONNECTABLE


def test_scale_too_many_connections_is_retried_rate_limit_abuse_is_not(sdk: dict[str, object]) -> None:
    """Both close with 4029. ``too_many_connections`` is transient (the address is at its
    socket limit: other sockets behind the same NAT close), so both SDKs retry it, on the
    first join and on reconnection, with the policy's backoff; ``rate_limit_abuse`` (this
    client flooded) ends the call. Without an error frame a bare 4029 reads as the
    non-retryable one."""
    assert ERRORS["too_many_connections"].close_code == ERRORS["rate_limit_abuse"].close_code == 4029
    for retried in (sdk["reconnectable"], sdk["refusedForNow"], RECONNECTABLE, REFUSED_FOR_NOW):
        assert isinstance(retried, list | frozenset)
        assert "too_many_connections" in retried and "rate_limit_abuse" not in retried
    assert sdk["closes"]["4029"] == ["rate_limit_abuse", False]  # type: ignore[index]


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
