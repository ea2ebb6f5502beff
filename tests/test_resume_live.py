"""Coming back after a drop on a real server: the grace from the drop, gaps from the last beat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from client.sabak_client import CallFailed, SabakClient
from tests.conftest import Running, free_port, make_classroom, settings_for, start_server
from tests.protocol_shapes import inbox_problems

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store

GRACE_S = 6


@pytest.fixture
async def short(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    """A 6 s grace and a 1 s heartbeat, so that a lesson outlives the grace within a test."""
    settings = settings_for(
        tmp_path / "var",
        redis_url,
        free_port(),
        SABAK_AUTH_RESUME_GRACE_S=str(GRACE_S),
        SABAK_ATTENDANCE_HEARTBEAT_S="1",
    )
    running = await start_server(settings)
    yield running
    await running.runner.cleanup()


async def report(server: Running, lesson_id: str) -> dict[str, dict[str, Any]]:
    async with server.rest() as rest:
        data = await rest.report(f"/api/lessons/{lesson_id}/report")
    return {r["id"]: r for r in data["learners"]}


async def drop(client: SabakClient) -> None:
    """The transport dies without a socket.io goodbye (a NAT or carrier reset)."""
    client.stop_heartbeat()
    await client.sio.eio.ws.close()


async def test_a_student_a_guest_and_an_attached_learner_resume_after_the_grace_since_joining(
    short: Running,
) -> None:
    room = await make_classroom(short, n_students=2, allow_guests=True)
    lesson_id = room.lesson["id"]
    teacher = short.client(room.teacher["link"])
    await teacher.connect()
    await teacher.join(lesson_id)
    phone = short.client(room.students[0]["link"], reconnection=False)
    await phone.connect()
    await phone.join(lesson_id)
    await teacher.call(
        "learner_attach",
        {"participant_id": room.students[0]["id"], "student_id": room.students[1]["id"]},
    )
    attached = await phone.next("learner_added")
    guest = SabakClient(short.url, guest_code=room.lesson["code"], name="Visitor")
    guest.sio.reconnection = False
    await guest.connect()
    guest_id = (await guest.join())["you"]["id"]
    await teacher.call("guest_admit", {"participant_id": guest_id})
    await guest.next("admitted")
    await asyncio.sleep(GRACE_S + 1)  # longer in the lesson than the grace
    await drop(phone)
    await drop(guest)
    await asyncio.sleep(5)  # a 5 s drop: well within the grace, counted from the drop
    phone_back = short.client(phone.auth["token"])
    await phone_back.connect()
    assert (await phone_back.join())["snapshot"]["you"]["id"] == room.students[0]["id"]
    learner = await phone_back.add_learner(attached["resume"])
    assert learner["snapshot"]["you"]["id"] == room.students[1]["id"]
    guest_back = short.client(guest.auth["token"])
    await guest_back.connect()
    back = await guest_back.join()
    assert back["waiting"] is False and back["snapshot"]["you"]["id"] == guest_id
    for client in (teacher, phone, guest, phone_back, guest_back):
        assert inbox_problems(client) == []
    rows = await report(short, lesson_id)
    assert len(rows) == 3  # two roster students and one guest: nobody split over two rows
    for pid in (room.students[0]["id"], room.students[1]["id"], guest_id):
        states = [s["state"] for s in rows[pid]["segments"] if s["state"] != "waiting"]
        assert states == ["present", "network", "present"]
    for client in (phone_back, guest_back, teacher):
        await client.close()


async def test_a_resume_token_after_the_grace_from_the_drop_is_refused(short: Running) -> None:
    room = await make_classroom(short, n_students=1)
    lesson_id = room.lesson["id"]
    phone = short.client(room.students[0]["link"], reconnection=False)
    await phone.connect()
    await phone.join(lesson_id)
    await drop(phone)
    await asyncio.sleep(GRACE_S + 1.5)
    late = short.client(phone.auth["token"], reconnection=False)
    await late.connect()
    with pytest.raises(CallFailed) as info:
        await late.join()
    assert info.value.code == "token-expired"
    await late.close()
    again = short.client(room.students[0]["link"])  # the personal link still works
    await again.connect()
    assert (await again.join(lesson_id))["snapshot"]["you"]["id"] == room.students[0]["id"]
    await again.close()


async def test_the_python_client_comes_back_with_its_link_after_the_grace(short: Running) -> None:
    room = await make_classroom(short, n_students=1)
    phone = short.client(room.students[0]["link"])
    phone.sio.reconnection_delay = phone.sio.reconnection_delay_max = GRACE_S + 2
    await phone.connect()
    await phone.join(room.lesson["id"])
    joins = phone.joins
    await drop(phone)  # it tries again only after the grace: the resume token is refused
    back = await phone.rejoined(joins, timeout=GRACE_S + 10)
    assert back["snapshot"]["you"]["id"] == room.students[0]["id"]
    await phone.close()


async def test_a_reset_after_a_silence_dates_the_gap_from_the_last_beat(short: Running) -> None:
    room = await make_classroom(short, n_students=1)
    lesson_id, link = room.lesson["id"], room.students[0]["link"]
    phone = short.client(link, reconnection=False)
    await phone.connect()
    await phone.join(lesson_id)
    await asyncio.sleep(1.5)
    phone.stop_heartbeat()  # silence, then the carrier resets the connection (no ping timeout)
    await asyncio.sleep(4)
    await phone.sio.eio.ws.close()
    await asyncio.sleep(0.5)
    back = short.client(link)
    await back.connect()
    await back.join(lesson_id)
    await asyncio.sleep(0.3)
    row = (await report(short, lesson_id))[room.students[0]["id"]]
    assert [s["state"] for s in row["segments"]] == ["present", "network", "present"]
    assert 3.5 <= row["gaps"]["network"]["minutes"] * 60 <= 6.5  # the silence is a gap
    await back.close()


async def test_a_waiting_guest_whose_socket_drops_leaves_for_a_network_reason(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=0, allow_guests=True)
    teacher = server.client(room.teacher["link"])
    await teacher.connect()
    await teacher.join(room.lesson["id"])
    guest = SabakClient(server.url, guest_code=room.lesson["code"], name="Visitor")
    guest.sio.reconnection = False
    await guest.connect()
    await guest.join()
    await drop(guest)
    gone = await teacher.wait_for("participant", lambda p: p["presence"] == "left")
    async with server.rest() as rest:
        log = await rest.events(room.lesson["id"])
    left = [r["data"] for r in log if r["type"] == "ParticipantLeft"]
    assert left == [
        {"participant_id": gone["id"], "reason": "network", "last_seen_ms": left[0]["last_seen_ms"]}
    ]
    async with server.rest() as rest:
        data = await rest.report(f"/api/lessons/{room.lesson['id']}/report")
    # never admitted: no attendance row, only counted beside the rows
    assert gone["id"] not in {r["id"] for r in data["learners"]}
    assert data["waiting_guests"] == {"count": 1, "names": ["Visitor"]}
    await teacher.close()


async def test_the_organizer_ending_a_lesson_says_so(server: Running) -> None:
    room = await make_classroom(server, n_students=1)
    phone = server.client(room.students[0]["link"])
    await phone.connect()
    await phone.join(room.lesson["id"])
    async with server.rest() as rest:
        await rest.end_lesson(room.lesson["id"])
    assert await phone.next("lesson_ended") == {"reason": "ended-by-organizer"}
    await phone.close()
