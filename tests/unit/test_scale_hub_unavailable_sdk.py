"""The browser SDK resumes after `hub_unavailable`: the error frame's code and the 4017
close code both read as a reconnectable failure (the server kept the member suspended)."""

from __future__ import annotations

import pytest

from peercall.errors import ERRORS
from peercall.testing.jsmodel import node_available, run_sdk_script

SCRIPT = r"""
const SDK = process.argv[2];
const { closeError } = await import(`${SDK}/wire.js`);
const { isReconnectable } = await import(`${SDK}/reconnect.js`);
const { fromServerError } = await import(`${SDK}/errors.js`);
const closed = closeError({ code: 4017, reason: '' });
const framed = fromServerError({ type: 'error', code: 'hub_unavailable', message: 'x', fatal: true });
const internal = closeError({ code: 4500, reason: '' });
const removed = closeError({ code: 4014, reason: '' });
console.log(JSON.stringify({
  closed: [closed.code, isReconnectable(closed)],
  framed: [framed.code, isReconnectable(framed)],
  internal: isReconnectable(internal),
  removed: isReconnectable(removed),
}));
"""


@pytest.mark.skipif(not node_available(), reason="node is not installed")
def test_scale_sdk_resumes_after_hub_unavailable() -> None:
    assert ERRORS["hub_unavailable"].close_code == 4017 and ERRORS["hub_unavailable"].fatal
    result = run_sdk_script(SCRIPT)
    assert result["closed"] == ["hub_unavailable", True]
    assert result["framed"] == ["hub_unavailable", True]
    assert result["internal"] is True and result["removed"] is False
