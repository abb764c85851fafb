"""The SDK's mesh upload plan (mesh-bandwidth.js) and active-speaker choice, run under Node."""

from __future__ import annotations

import pytest

from peercall.testing.jsmodel import node_available, run_js

pytestmark = pytest.mark.skipif(not node_available(), reason="node is installed by make setup")

PLAN = "return mesh.planSenders(input[0], input[1]);"


def test_mesh_caps_shrink_as_the_room_grows():
    plans = run_js(PLAN, [[n, None] for n in (1, 2, 3, 4, 6)])
    rates = [p["maxBitrate"] for p in plans]
    assert rates == sorted(rates, reverse=True) and len(set(rates[:4])) == 4
    # The total a member uploads stays near what a 1:1 call sends, not N-1 times it.
    assert all(p["maxBitrate"] * p["remotes"] <= 2_500_000 for p in plans)
    assert plans[0]["scaleResolutionDownBy"] == 1 and plans[2]["scaleResolutionDownBy"] > 1


def test_mesh_a_short_uplink_is_shared_evenly_with_a_floor():
    (roomy, short, tiny) = run_js(PLAN, [[3, 20_000_000], [3, 1_200_000], [3, 200_000]])
    assert roomy["maxBitrate"] == 800_000  # plenty of uplink: the tier's ceiling
    assert short["maxBitrate"] == 360_000  # 90 % of 1.2 Mbit/s over three receivers
    assert tiny["maxBitrate"] == 150_000 and tiny["scaleResolutionDownBy"] == 2  # the floor, fewer pixels


def test_mesh_active_speaker_is_the_loudest_above_the_threshold():
    script = "return speaker.loudest(input);"
    quiet, loud, one = run_js(script, [{"a": 0.001, "b": 0.01}, {"a": 0.2, "b": 0.5, "c": 0.1}, {"a": 0.05}])
    assert (quiet, loud, one) == (None, "b", "a")
