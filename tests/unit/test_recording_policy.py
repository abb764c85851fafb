"""The ``recording`` room setting is one of four policies, checked when the room is created."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from peercall.api.schemas import RoomCreate
from peercall.recording.policy import RECORDING_POLICIES, recording_policy


@pytest.mark.parametrize("policy", RECORDING_POLICIES)
def test_recording_policy_accepted(policy: str) -> None:
    assert RoomCreate(settings={"recording": policy}).settings["recording"] == policy


@pytest.mark.parametrize("bad", ["sever", "Server", "", True, 1, None, ["host"]])
def test_recording_policy_typo_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match="recording: must be one of"):
        RoomCreate(settings={"recording": bad})


def test_recording_policy_of_an_old_room_falls_back_to_off() -> None:
    assert recording_policy({}) == "off"
    assert recording_policy({"recording": "everyone"}) == "off"  # stored before validation existed
    assert recording_policy({"recording": "server"}) == "server"
