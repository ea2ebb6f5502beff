"""Two `sabak serve` processes on one Redis: one lesson, people on both, one report."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import socketio

from client.rest import RestClient, token_from_link
from client.sabak_client import CallFailed, SabakClient
from tests.conftest import clean_env, free_port, sabak_serve
from tests.media_peers import LOOPBACK, AiortcStudent, AiortcTeacher, At


async def serve(
    tmp_path: Path, redis_url: str, port: int, **extra: str
) -> asyncio.subprocess.Process:
    return await sabak_serve(clean_env(
        SABAK_SERVER_PORT=str(port),
        SABAK_SERVER_DATA_DIR=str(tmp_path / "var"),  # shared: the same keys
        SABAK_REDIS_URL=redis_url,
        SABAK_SERVER_CLUSTER="true",
        **extra,
    ))  # fmt: skip


@pytest.fixture
async def two(tmp_path: Path, redis_url: str) -> AsyncIterator[tuple[str, str]]:
    ports = free_port(), free_port()
    first = await serve(tmp_path, redis_url, ports[0])
    second = await serve(tmp_path, redis_url, ports[1])
    yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    for proc in (first, second):
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)


async def test_a_student_on_one_process_and_the_teacher_on_another(
    tmp_path: Path, two: tuple[str, str]
) -> None:
    url_a, url_b = two
    key = (tmp_path / "var" / "admin.key").read_text().strip()
    async with RestClient(url_a, key) as rest:
        course = await rest.create_course("Two servers")
        ana, bek = await rest.add_students(course["id"], ["Ana", "Bek"])
        teacher = await rest.create_teacher("T", [course["id"]])
        lesson = await rest.create_lesson(course["id"], "Across")
        await rest.start_lesson(lesson["id"])
    student = SabakClient(url_a, token=token_from_link(ana["link"]))
    other = SabakClient(url_b, token=token_from_link(bek["link"]))
    teach = SabakClient(url_b, token=token_from_link(teacher["link"]))
    for person in (student, teach, other):
        await person.connect()
        await person.join(lesson["id"])
    roster = teach.welcome["snapshot"]["participants"]
    assert {p["name"] for p in roster if p["presence"] == "present"} >= {"Ana", "T"}

    await student.chat("hello from A")
    assert (await teach.wait_for("chat", lambda m: True))["text"] == "hello from A"
    assert (await other.wait_for("chat", lambda m: True))["text"] == "hello from A"
    await teach.chat("hello from B")
    assert (await student.wait_for("chat", lambda m: m["text"] == "hello from B"))["id"] == 2

    poll = await teach.call("poll_open", {"kind": "single", "question": "A or B?",
                                          "options": ["A", "B"]})  # fmt: skip
    assert (await student.next("poll_opened"))["poll_id"] == poll["poll_id"]
    await student.call("poll_answer", {"poll_id": poll["poll_id"], "answer": 0})
    await other.call("poll_answer", {"poll_id": poll["poll_id"], "answer": 1})
    tally = await teach.wait_for("poll_tally", lambda t: t["answered"] == 2)
    assert tally["counts"] == [1, 1]
    check = await teach.call("check_start", {"window_s": 30})
    await student.answer_check(check["check_id"])
    await other.answer_check(check["check_id"])

    async with RestClient(url_b, key) as rest:
        report = await rest.report(f"/api/lessons/{lesson['id']}/report")
        log = await rest.events(lesson["id"])
    rows = {r["name"]: r for r in report["learners"]}
    assert rows["Ana"]["poll_answers"] == rows["Bek"]["poll_answers"] == 1
    assert rows["Ana"]["checks_answered"] == rows["Bek"]["checks_answered"] == 1
    assert rows["Ana"]["chat_messages"] == 1 and rows["Ana"]["status"] == "present"
    assert [r["seq"] for r in log] == list(range(1, len(log) + 1))
    for person in (student, teach, other):
        await person.close()


async def join_until_served(client: SabakClient, lesson_id: str) -> dict[str, Any]:
    """Join, retrying while the lesson's dead owner still holds its lease (a few seconds)."""
    for _ in range(20):
        try:
            return await client.join(lesson_id)
        except (CallFailed, socketio.exceptions.TimeoutError):
            await asyncio.sleep(0.5)
    raise AssertionError("the lesson was not taken over")


async def test_when_the_owner_dies_the_other_process_takes_the_lesson_over(
    tmp_path: Path, redis_url: str
) -> None:
    ports = free_port(), free_port()
    owner = await serve(tmp_path, redis_url, ports[0])
    spare = await serve(tmp_path, redis_url, ports[1])
    url_a, url_b = (f"http://127.0.0.1:{p}" for p in ports)
    key = (tmp_path / "var" / "admin.key").read_text().strip()
    try:
        async with RestClient(url_a, key) as rest:
            course = await rest.create_course("Failover")
            (ana,) = await rest.add_students(course["id"], ["Ana"])
            teacher = await rest.create_teacher("T", [course["id"]])
            lesson = await rest.create_lesson(course["id"], "L")
            await rest.start_lesson(lesson["id"])  # process A owns the lesson
        teach = SabakClient(url_b, token=token_from_link(teacher["link"]))
        await teach.connect()
        await teach.join(lesson["id"])
        owner.send_signal(signal.SIGKILL)
        await owner.wait()
        student = SabakClient(url_b, token=token_from_link(ana["link"]))
        await student.connect()
        welcome = await join_until_served(student, lesson["id"])
        assert welcome["snapshot"]["lesson"]["status"] == "live"
        await student.chat("after the takeover")
        assert (await teach.wait_for("chat", lambda m: True))["text"] == "after the takeover"
        await teach.wait_for(
            "participant", lambda p: p["role"] == "teacher" and p["presence"] == "present"
        )
        for person in (teach, student):
            await person.close()
    finally:
        spare.send_signal(signal.SIGTERM)
        await asyncio.wait_for(spare.wait(), 20)


def lesson_worker(servers: list[asyncio.subprocess.Process]) -> psutil.Process:
    """The media worker that forwards the lesson: the one of them with UDP sockets open."""
    for server in servers:
        for child in psutil.Process(server.pid).children():
            worker = "media.worker" in " ".join(child.cmdline())
            if worker and child.net_connections(kind="udp"):
                return child
    raise AssertionError("no media worker has a connection")


async def test_media_across_processes_and_its_worker_restarted(
    tmp_path: Path, redis_url: str
) -> None:
    """The teacher publishes through one process, a student receives through the other; the
    lesson's media worker dies and both are told, across processes, and start again."""
    ports = free_port(), free_port()
    loopback = {"SABAK_MEDIA_ICE_HOST_ADDRESSES": LOOPBACK,
                "SABAK_MEDIA_ICE_ACCEPT_REMOTE_IPS": LOOPBACK}  # fmt: skip
    servers = [await serve(tmp_path, redis_url, port, **loopback) for port in ports]
    url_a, url_b = (f"http://127.0.0.1:{p}" for p in ports)
    key = (tmp_path / "var" / "admin.key").read_text().strip()
    try:
        async with RestClient(url_a, key) as rest:
            course = await rest.create_course("Media on two servers")
            (ana,) = await rest.add_students(course["id"], ["Ana"])
            teacher = await rest.create_teacher("T", [course["id"]])
            lesson = await rest.create_lesson(course["id"], "L")
            await rest.start_lesson(lesson["id"])
        teach = AiortcTeacher(At(url_b), teacher["link"])
        student = AiortcStudent(At(url_a), ana["link"])
        try:
            await teach.join(lesson["id"])
            await student.join(lesson["id"])
            await student.camera_frames(30, "across processes")
            lesson_worker(servers).kill()
            for client in (teach.client, student.client):
                await client.wait_for("media_restart", lambda _: True, timeout=10)
            await teach.publish()
            await student.subscribe()
            await student.camera_frames(30, "after the worker was replaced")
            assert not student.errors, student.errors
        finally:
            await student.close()
            await teach.close()
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            await asyncio.wait_for(server.wait(), 20)
