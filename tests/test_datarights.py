"""Organizers revoke, correct and erase: links, records, lesson logs and live sockets follow."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from client.rest import RestClient, RestError, token_from_link
from client.sabak_client import SabakClient
from tests import test_cluster
from tests.conftest import Classroom, Running, make_classroom
from tests.test_security import refused_connect

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store

two = test_cluster.two  # the fixture of two `sabak serve` processes on one Redis


async def joined(server: Running, link: str, lesson_id: str) -> SabakClient:
    client = server.client(link, reconnection=False)
    await client.connect()
    await client.join(lesson_id)
    return client


async def disconnected(client: SabakClient, timeout: float = 5) -> None:
    """Returns once the server has closed the client's connection (else TimeoutError)."""
    await asyncio.wait_for(client.sio.wait(), timeout)
    assert not client.sio.connected


async def status_of(server: Running, method: str, path: str, key: str | None = None) -> int:
    async with server.rest(key) as rest:
        try:
            await rest.request(method, path)
        except RestError as err:
            return err.status
    return 200


async def test_teacher_rotate_refuses_the_old_link_and_disconnects_the_teacher_at_once(
    server: Running, classroom: Classroom
) -> None:
    lesson_id = classroom.lesson["id"]
    teacher = await joined(server, classroom.teacher["link"], lesson_id)
    old = token_from_link(classroom.teacher["link"])
    async with server.rest() as rest:
        fresh = await rest.request("POST", f"/api/teachers/{classroom.teacher['id']}/rotate-link")
    revoked = await teacher.next("revoked", timeout=3)
    assert revoked == {"participant_id": classroom.teacher["id"], "reason": "link-revoked"}
    await disconnected(teacher)
    assert await status_of(server, "GET", "/api/courses", old) == 401
    assert await refused_connect(server, {"token": old}) == "link-revoked"
    again = await joined(server, fresh["link"], lesson_id)  # the new link works
    await again.close()


async def test_student_rotate_disconnects_the_live_student(
    server: Running, classroom: Classroom
) -> None:
    lesson_id = classroom.lesson["id"]
    teacher = await joined(server, classroom.teacher["link"], lesson_id)
    ana = await joined(server, classroom.students[0]["link"], lesson_id)
    path = f"/api/students/{classroom.students[0]['id']}/rotate-link"
    assert await status_of(server, "POST", path) == 200
    assert (await ana.next("revoked", timeout=3))["reason"] == "link-revoked"
    await disconnected(ana)
    left = await teacher.wait_for(
        "participant", lambda p: p["id"] == classroom.students[0]["id"] and p["presence"] == "left"
    )
    assert left["presence"] == "left"
    token = token_from_link(classroom.students[0]["link"])
    assert await refused_connect(server, {"token": token}) == "link-revoked"
    await teacher.close()


async def test_rename_and_delete_teacher_student_course_lesson(
    server: Running, classroom: Classroom
) -> None:
    course, lesson = classroom.course_id, classroom.lesson["id"]
    student, teacher = classroom.students[0], classroom.teacher
    async with server.rest() as rest:
        renamed = {"name": "Aigul Asanova"}
        assert (await rest.request("PATCH", f"/api/teachers/{teacher['id']}", json=renamed))[
            "name"
        ] == "Aigul Asanova"
        fixed = await rest.request(
            "PATCH", f"/api/students/{student['id']}", json={"name": "Ana Fixed"}
        )
        assert fixed["name"] == "Ana Fixed"
        await rest.request("PATCH", f"/api/courses/{course}", json={"title": "Algebra 7B"})
        await rest.request("PATCH", f"/api/lessons/{lesson}", json={"title": "Decimals"})
        assert (await rest.request("GET", f"/api/lessons/{lesson}"))["title"] == "Decimals"
        assert (await rest.request("GET", f"/api/courses/{course}"))["title"] == "Algebra 7B"
    assert await status_of(server, "DELETE", f"/api/lessons/{lesson}") == 409  # live
    async with server.rest() as rest:
        await rest.end_lesson(lesson)
    teacher_key = token_from_link(teacher["link"])
    assert await status_of(server, "PATCH", f"/api/courses/{course}", teacher_key) == 403
    assert await status_of(server, "DELETE", f"/api/lessons/{lesson}") == 200
    assert await status_of(server, "GET", f"/api/lessons/{lesson}/events") == 404
    assert await status_of(server, "DELETE", f"/api/students/{student['id']}") == 200
    assert await status_of(server, "DELETE", f"/api/students/{student['id']}") == 404
    other = await make_classroom(server, n_students=1, start=False)
    assert await status_of(server, "DELETE", f"/api/courses/{course}") == 200
    assert await status_of(server, "GET", f"/api/courses/{course}") == 404
    assert await status_of(server, "GET", f"/api/courses/{course}/students") == 404
    remaining = classroom.students[1]["id"]
    assert await status_of(server, "POST", f"/api/students/{remaining}/rotate-link") == 404
    async with server.rest() as rest:
        teachers = {t["id"]: t for t in await rest.request("GET", "/api/teachers")}
    assert teachers[teacher["id"]]["course_ids"] == []  # the teacher stays, without the course
    assert await status_of(server, "DELETE", f"/api/teachers/{teacher['id']}") == 200
    assert await status_of(server, "GET", "/api/courses", teacher_key) == 401
    assert await status_of(server, "GET", f"/api/courses/{other.course_id}") == 200


async def test_erasing_a_student_redacts_every_log_and_keeps_the_figures(
    server: Running, classroom: Classroom
) -> None:
    lesson_id, ana_id = classroom.lesson["id"], classroom.students[0]["id"]
    teacher = await joined(server, classroom.teacher["link"], lesson_id)
    ana = await joined(server, classroom.students[0]["link"], lesson_id)
    bek = await joined(server, classroom.students[1]["link"], lesson_id)
    await ana.chat("I live at 12 Secret Street")
    await bek.chat("Bek is here")
    poll = await teacher.call("poll_open", {"kind": "text", "question": "Your pet?"})
    await ana.call("poll_answer", {"poll_id": poll["poll_id"], "answer": "Rex the dog"})
    async with server.rest() as rest:
        erased = await rest.request("DELETE", f"/api/students/{ana_id}")
        log = await rest.events(lesson_id)
        report = await rest.request("GET", f"/api/lessons/{lesson_id}/report")
        roster = await rest.request("GET", f"/api/courses/{classroom.course_id}/students")
    await disconnected(ana)
    text = json.dumps(log, ensure_ascii=False)
    for personal in ("Student 0", "Secret Street", "Rex the dog"):
        assert personal not in text
    assert "Bek is here" in text and erased["pseudonym"] in text
    assert ana_id not in {s["id"] for s in roster}
    row = next(r for r in report["learners"] if r["id"] == ana_id)
    assert row["name"] == erased["pseudonym"] and row["chat_messages"] == 1
    assert row["first_join"] is not None
    # The live lesson forgot too: a learner joining now is not sent the text.
    cem = await joined(server, classroom.students[2]["link"], lesson_id)
    history = json.dumps(cem.welcome["snapshot"], ensure_ascii=False)
    assert "Secret Street" not in history and "Bek is here" in history
    for client in (teacher, bek, cem):
        await client.close()


async def test_a_chat_message_the_teacher_deletes_is_gone_from_the_log(
    server: Running, classroom: Classroom
) -> None:
    lesson_id = classroom.lesson["id"]
    teacher = await joined(server, classroom.teacher["link"], lesson_id)
    ana = await joined(server, classroom.students[0]["link"], lesson_id)
    sent = await ana.chat("something rude")
    await ana.chat("sorry")
    await teacher.call("chat_delete", {"message_id": sent["message_id"]})
    async with server.rest() as rest:
        log = await rest.events(lesson_id)
    posted = [r["data"]["text"] for r in log if r["type"] == "ChatPosted"]
    assert posted == ["", "sorry"]
    assert "something rude" not in json.dumps(log)
    for client in (teacher, ana):
        await client.close()


def report_row(report: dict[str, Any], pid: str) -> dict[str, Any]:
    return next(r for r in report["learners"] if r["id"] == pid)


async def test_the_student_qr_and_links_are_for_organizers_only(
    server: Running, classroom: Classroom
) -> None:
    teacher_key = token_from_link(classroom.teacher["link"])
    async with server.rest(teacher_key) as rest:
        roster = await rest.request("GET", f"/api/courses/{classroom.course_id}/students")
    assert roster and all("link" not in s for s in roster)
    qr = f"/api/students/{classroom.students[0]['id']}/qr.svg"
    assert await status_of(server, "GET", qr, teacher_key) == 403


@pytest.mark.store("redis")  # two processes: a cluster needs Redis
async def test_revoking_on_one_process_disconnects_sockets_on_another(
    tmp_path: Path, two: tuple[str, str]
) -> None:
    url_a, url_b = two
    key = (tmp_path / "var" / "admin.key").read_text().strip()
    async with RestClient(url_a, key) as rest:
        course = await rest.create_course("Two servers")
        ana, bek = await rest.add_students(course["id"], ["Ana", "Bek"])
        teacher = await rest.create_teacher("T", [course["id"]])
        lesson = await rest.create_lesson(course["id"], "Across")
        await rest.start_lesson(lesson["id"])  # process A runs the lesson
    people = [
        SabakClient(url, token=token_from_link(x["link"]), reconnection=False)
        for url, x in ((url_a, teacher), (url_b, ana), (url_b, bek))
    ]
    for person in people:
        await person.connect()
        await person.join(lesson["id"])
    teach, on_b_ana, on_b_bek = people
    await on_b_ana.chat("my secret")
    async with RestClient(url_a, key) as rest:
        await rest.request("POST", f"/api/students/{bek['id']}/rotate-link")
        await rest.request("DELETE", f"/api/students/{ana['id']}")
    for person in (on_b_bek, on_b_ana):
        await person.next("revoked", timeout=5)
        await disconnected(person)
    async with RestClient(url_b, key) as rest:
        log = json.dumps(await rest.events(lesson["id"]))
    assert "my secret" not in log and '"Ana"' not in log
    await teach.close()
