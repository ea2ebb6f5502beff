"""Attendance on a real server: drops, heartbeats, checks, shared phones, reports, CSV."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from client.rest import token_from_link
from client.sabak_client import SabakClient
from tests.conftest import Classroom, Running, free_port, make_classroom, settings_for, start_server

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store


@pytest.fixture
async def quick(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    """A server with a 1 s heartbeat, so a silent drop is recognised within seconds."""
    settings = settings_for(
        tmp_path / "var", redis_url, free_port(), SABAK_ATTENDANCE_HEARTBEAT_S="1"
    )
    running = await start_server(settings)
    yield running
    await running.runner.cleanup()


async def joined(server: Running, link: str, lesson_id: str, **kw: bool) -> SabakClient:
    client = server.client(link, **kw)
    await client.connect()
    await client.join(lesson_id)
    return client


async def report(server: Running, lesson_id: str) -> dict[str, dict[str, Any]]:
    async with server.rest() as rest:
        data = await rest.report(f"/api/lessons/{lesson_id}/report")
    return {r["id"]: r for r in data["learners"]}


async def test_a_30_second_drop_is_one_learner_with_one_30_second_network_gap(
    server: Running, classroom: Classroom
) -> None:
    lesson_id = classroom.lesson["id"]
    link = classroom.students[0]["link"]
    phone = await joined(server, link, lesson_id, reconnection=False)
    await asyncio.sleep(1)
    await phone.sio.emit("beat")  # heard a second after joining: the gap starts here
    await asyncio.sleep(0.2)
    await phone.sio.eio.ws.close()  # the transport dies; no socket.io goodbye
    await asyncio.sleep(30)
    back = await joined(server, link, lesson_id)
    await asyncio.sleep(1)
    row = (await report(server, lesson_id))[classroom.students[0]["id"]]
    assert [s["state"] for s in row["segments"]] == ["present", "network", "present"]
    assert row["gaps"]["network"]["count"] == 1
    assert 29.5 <= row["gaps"]["network"]["minutes"] * 60 <= 32
    await back.close()


async def test_a_silent_drop_replaced_by_a_new_connection_starts_the_gap_at_the_last_beat(
    quick: Running,
) -> None:
    room = await make_classroom(quick, n_students=1)
    lesson_id, link = room.lesson["id"], room.students[0]["link"]
    old = await joined(quick, link, lesson_id, reconnection=False)
    await asyncio.sleep(1.5)
    old.stop_heartbeat()  # the phone lost its signal: nothing more arrives from it
    await asyncio.sleep(4)
    new = await joined(quick, link, lesson_id)
    await asyncio.sleep(0.5)
    row = (await report(quick, lesson_id))[room.students[0]["id"]]
    assert [s["state"] for s in row["segments"]] == ["present", "network", "present"]
    assert 3.0 <= row["gaps"]["network"]["minutes"] * 60 <= 5.5
    assert (await old.next("replaced"))["reason"] == "joined-elsewhere"
    await new.close()


async def test_a_check_answered_by_three_of_four(server: Running) -> None:
    room = await make_classroom(server, n_students=4)
    lesson_id = room.lesson["id"]
    teacher = await joined(server, room.teacher["link"], lesson_id)
    kids = [await joined(server, s["link"], lesson_id) for s in room.students]
    ack = await teacher.call("check_start", {"window_s": 5})
    prompts = [await k.next("check_started") for k in kids]
    assert {p["check_id"] for p in prompts} == {ack["check_id"]}
    for kid in kids[:3]:
        await kid.answer_check(ack["check_id"])
    tally = await teacher.wait_for("check_tally", lambda t: t["answered"] == 3)
    assert tally["expected"] == 4
    await kids[0].next("check_closed", timeout=10)
    rows = await report(server, lesson_id)
    results = [rows[s["id"]]["checks"][0]["result"] for s in room.students]
    assert results == ["answered", "answered", "answered", "missed"]
    for c in [teacher, *kids]:
        await c.close()


async def test_a_shared_phone_holds_three_learners_who_answer_for_themselves(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=3)
    lesson_id = room.lesson["id"]
    teacher = await joined(server, room.teacher["link"], lesson_id)
    phone = await joined(server, room.students[0]["link"], lesson_id)
    await phone.add_learner(token_from_link(room.students[1]["link"]))
    await phone.add_learner(token_from_link(room.students[2]["link"]))
    ids = [s["id"] for s in room.students]
    # The teacher learns whose phone each learner is on: they receive what that phone does.
    on_phone = await teacher.wait_for("participant", lambda p: p["device"] is not None)
    assert (on_phone["id"], on_phone["device"]) == (ids[1], ids[0])
    check = (await teacher.call("check_start"))["check_id"]
    await phone.answer_check(check, learner=ids[0])
    await phone.answer_check(check, learner=ids[2])
    await teacher.call("check_close", {"check_id": check})
    bad = await phone.sio.call("check_answer", {"check_id": check, "learner": "s-nobody"})
    assert bad["error"]["code"] == "unknown-learner"
    rows = await report(server, lesson_id)
    assert [rows[i]["checks"][0]["result"] for i in ids] == ["answered", "missed", "answered"]
    await phone.close()  # the phone's one connection goes: all three leave
    await asyncio.sleep(0.3)
    rows = await report(server, lesson_id)
    assert [rows[i]["segments"][-1]["state"] for i in ids] == ["left"] * 3, rows
    await teacher.close()


async def test_background_and_report_csv_with_a_hostile_name(server: Running) -> None:
    async with server.rest() as rest:
        course = await rest.create_course("History")
        evil = '=HYPERLINK("http://x.example","go")'
        students = await rest.add_students(course["id"], [evil, "<script>alert(1)</script>"])
        lesson = await rest.create_lesson(course["id"], "Silk Road")
        await rest.start_lesson(lesson["id"])
    kid = await joined(server, students[0]["link"], lesson["id"])
    await kid.visibility(False)
    await asyncio.sleep(0.2)
    await kid.visibility(True)  # inside the visibility interval: held, stored when it ends
    async with server.rest() as rest:
        for _ in range(40):
            log = await rest.events(lesson["id"])
            if sum(1 for r in log if r["type"] == "VisibilityChanged") == 2:
                break
            await asyncio.sleep(0.25)
        text = await rest.report(f"/api/lessons/{lesson['id']}/report", csv=True)
        matrix = await rest.report(f"/api/courses/{course['id']}/report")
        svg = await rest.text(f"/api/lessons/{lesson['id']}/timeline.svg")
    rows = list(csv.reader(io.StringIO(text)))
    names = [r[rows[0].index("name")] for r in rows[1:]]
    assert sorted(names) == sorted(["'" + evil, "<script>alert(1)</script>"])
    row = (await report(server, lesson["id"]))[students[0]["id"]]
    assert [s["state"] for s in row["segments"]][:3] == ["present", "background", "present"]
    assert {m["id"] for m in matrix["learners"]} == {s["id"] for s in students}
    assert "&lt;script&gt;" in svg and "<script>" not in svg
    await kid.close()


async def test_reports_need_the_organizer_or_the_course_teacher(
    server: Running, classroom: Classroom
) -> None:
    other = await make_classroom(server, n_students=0)
    path = f"/api/lessons/{classroom.lesson['id']}/report"
    async with server.rest(token_from_link(other.teacher["link"])) as rest:
        with pytest.raises(Exception, match="forbidden"):
            await rest.report(path)
    async with server.rest(token_from_link(classroom.teacher["link"])) as rest:
        assert (await rest.report(path))["lesson"]["id"] == classroom.lesson["id"]


async def test_a_learner_put_on_a_phone_by_the_teacher_comes_back_after_a_reconnect(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=2)
    lesson_id = room.lesson["id"]
    teacher = await joined(server, room.teacher["link"], lesson_id)
    phone = await joined(server, room.students[0]["link"], lesson_id)
    await teacher.call(
        "learner_attach",
        {"participant_id": room.students[0]["id"], "student_id": room.students[1]["id"]},
    )
    added = await phone.next("learner_added")
    await phone.close(goodbye=False)
    again = await joined(server, room.students[0]["link"], lesson_id)
    back = await again.add_learner(added["resume"])
    assert back["snapshot"]["you"]["id"] == room.students[1]["id"]
    await again.close()
    await teacher.close()


async def test_a_lesson_with_random_checks_schedules_them_at_start(
    tmp_path: Path, redis_url: str
) -> None:
    settings = settings_for(tmp_path / "var", redis_url, free_port(),
                            SABAK_ATTENDANCE_RANDOM_CHECKS="2")  # fmt: skip
    running = await start_server(settings)
    try:
        room = await make_classroom(running, n_students=1)
        async with running.rest() as rest:
            log = await rest.events(room.lesson["id"])
        started = next(r for r in log if r["type"] == "LessonStarted")
        assert len(started["data"]["check_times_ms"]) == 2
    finally:
        await running.runner.cleanup()


async def test_a_locked_phone_listening_that_answers_the_check_is_present(server: Running) -> None:
    room = await make_classroom(server, n_students=2)
    lesson_id = room.lesson["id"]
    teacher = await joined(server, room.teacher["link"], lesson_id)
    listener = await joined(server, room.students[0]["link"], lesson_id)
    silent = await joined(server, room.students[1]["link"], lesson_id)
    await listener.visibility(False, listening=True)  # sound only, screen locked
    await silent.visibility(False)  # locked, nothing playing
    await asyncio.sleep(1)
    check = await teacher.call("check_start", {"window_s": 5})
    await listener.answer_check(check["check_id"])
    await asyncio.sleep(1)
    async with server.rest() as rest:
        await rest.end_lesson(lesson_id)
    rows = await report(server, lesson_id)
    heard, mute = rows[room.students[0]["id"]], rows[room.students[1]["id"]]
    assert heard["status"] == "present" and heard["minutes_listening"] > 0
    assert "listening" in {s["state"] for s in heard["segments"]}
    assert mute["status"] == "absent" and mute["minutes_background"] > 0
    for client in (teacher, listener, silent):
        await client.close()
