"""Media state and moderator controls in the signaling state machine (no sockets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peercall.hub.memory import MemoryHub
from peercall.rooms.service import RoomService
from peercall.store import open_store
from tests.unit.test_call_session import Harness, plain


@pytest.fixture
async def harness(tmp_path: Path):
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    yield Harness(RoomService(store, MemoryHub()))
    await store.close()


async def classroom(harness: Harness, **settings: object):
    room = await harness.rooms.create_room("class", 2, dict(settings))
    teacher, teacher_out = harness.client()
    student, student_out = harness.client()
    await teacher.receive(harness.join_frame(room.id, "teacher", "host"))
    await student.receive(harness.join_frame(room.id, "student"))
    return room, (teacher, teacher_out), (student, student_out)


def moderate(to: str, action: str) -> str:
    return json.dumps({"type": "moderate", "to": to, "action": action})


async def test_media_controls_state_is_shared_and_kept_for_late_joiners(harness: Harness):
    room, (teacher, teacher_out), (student, _) = await classroom(harness)
    await student.receive(json.dumps({"type": "media-state", "audio": "muted", "video": "off", "screen": False}))
    assert plain(teacher_out[-1]) == {
        "type": "peer-media",
        "peer_id": student.member.peer_id,
        "media": {"audio": "muted", "video": "off", "screen": False},
    }
    [_, live_student] = await harness.rooms.hub.members(room.id)
    assert live_student.media["audio"] == "muted"
    await teacher.close()  # the teacher reconnects later: the student's state comes with `joined`
    again, again_out = harness.client()
    await again.receive(harness.join_frame(room.id, "teacher", "host"))
    assert again_out[-1]["peers"][0]["media"] == {"audio": "muted", "video": "off", "screen": False}


async def test_media_controls_host_mutes_participant_but_not_the_reverse(harness: Harness):
    _, (teacher, teacher_out), (student, student_out) = await classroom(harness)
    await student.receive(moderate(teacher.member.peer_id, "mute_audio"))
    assert student_out[-1]["code"] == "forbidden" and not student_out[-1]["fatal"]
    assert all(f["type"] != "moderation" for f in teacher_out)
    await teacher.receive(moderate(student.member.peer_id, "mute_audio"))
    command = plain(student_out[-1])
    assert command["type"] == "moderation" and command["action"] == "mute_audio"
    assert command["by"]["identity"] == "teacher"
    await teacher.receive(moderate(teacher.member.peer_id, "mute_audio"))
    assert teacher_out[-1]["code"] == "forbidden"
    await teacher.receive(moderate("p_nobody", "mute_audio"))
    assert teacher_out[-1]["code"] == "participant_not_found"


async def test_media_controls_direct_unmute_needs_room_setting(harness: Harness):
    _, (teacher, teacher_out), (student, student_out) = await classroom(harness)
    await teacher.receive(moderate(student.member.peer_id, "unmute_audio"))
    assert teacher_out[-1]["code"] == "forbidden"
    await teacher.receive(moderate(student.member.peer_id, "ask_unmute"))
    assert student_out[-1]["action"] == "ask_unmute"

    harness2 = harness
    _, (teacher2, _), (student2, student2_out) = await classroom(harness2, allow_host_unmute=True)
    await teacher2.receive(moderate(student2.member.peer_id, "unmute_audio"))
    assert student2_out[-1]["action"] == "unmute_audio"


async def test_media_controls_remove_keeps_the_participant_out(harness: Harness):
    room, (teacher, teacher_out), (student, student_out) = await classroom(harness)
    await teacher.receive(moderate(student.member.peer_id, "remove"))
    assert student_out[-1]["code"] == "removed" and student_out[-1]["fatal"]
    assert teacher_out[-1]["type"] == "peer-left" and teacher_out[-1]["reason"] == "removed"
    back, back_out = harness.client()
    await back.receive(harness.join_frame(room.id, "student"))
    assert back_out[-1]["code"] == "removed"
