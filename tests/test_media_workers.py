"""Media forwarding in worker processes: lessons pinned across workers, a killed worker
replaced, workers gone with their server (also when the server is killed).

Real processes, real aiortc peers on 127.0.0.1, the real Redis of the test suite.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from media.errors import MediaError
from media.rooms import MediaRooms
from media.worker import RoomOptions, Worker
from media.workers import MediaWorkers, worker_count
from server import appkeys as k
from tests.conftest import (
    Classroom,
    Running,
    clean_env,
    free_port,
    make_classroom,
    sabak_serve,
    settings_for,
    start_server,
)
from tests.media_peers import AiortcStudent, AiortcTeacher

pytestmark = [pytest.mark.store("memory"), pytest.mark.timeout(120)]

CAMERA = "1"  # mid of the teacher's camera in a subscriber's offer
WAIT_S = 15.0


@pytest.fixture
async def two_workers(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    settings = settings_for(tmp_path / "var", redis_url, free_port(), SABAK_MEDIA_WORKERS="2")
    running = await start_server(settings)
    try:
        yield running
    finally:
        await running.runner.cleanup()


def media_of(server: Running) -> MediaRooms:
    media = server.app[k.MEDIA]
    assert media is not None
    return media


async def until(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def frames_flow(student: AiortcStudent, label: str, more: int = 30) -> None:
    await student.camera_frames(more, label, WAIT_S)
    assert not student.errors[CAMERA], f"{label}: decode errors {student.errors}"


async def class_with_media(server: Running) -> tuple[Classroom, AiortcTeacher, AiortcStudent]:
    room = await make_classroom(server, n_students=1)
    lesson_id = room.lesson["id"]
    teacher = AiortcTeacher(server, room.teacher["link"])
    await teacher.join(lesson_id)
    student = AiortcStudent(server, room.students[0]["link"])
    await student.join(lesson_id)
    return room, teacher, student


async def test_two_lessons_run_on_two_workers_and_both_forward(two_workers: Running) -> None:
    media = media_of(two_workers)
    peers = [await class_with_media(two_workers) for _ in range(2)]
    try:
        for i, (_, _, student) in enumerate(peers):
            await frames_flow(student, f"lesson {i}")
        workers = [media.workers.pinned(room.lesson["id"]) for room, _, _ in peers]
        assert workers[0] is not None and workers[1] is not None
        assert workers[0] is not workers[1], "the second lesson went to the idle worker"
        pids = {w.pid for w in workers if w is not None}
        assert len(pids) == 2 and os.getpid() not in pids
        assert all(psutil.Process(pid).ppid() == os.getpid() for pid in pids if pid)
        # The teacher's view of who receives what comes back from the lesson's worker.
        teacher = peers[0][1]
        receiving = (await teacher.client.call("media_receiving", {}))["receiving"]
        student_pid = next(p for p in receiving if receiving[p]["mode"] == "video")
        assert receiving[student_pid]["tracks"]["teacher-camera"]["frames"] > 0
    finally:
        for _, teacher, student in peers:
            await student.close()
            await teacher.close()


async def test_a_killed_worker_is_replaced_and_media_resumes(two_workers: Running) -> None:
    media = media_of(two_workers)
    room, teacher, student = await class_with_media(two_workers)
    lesson_id = room.lesson["id"]
    try:
        await frames_flow(student, "before")
        worker = media.workers.pinned(lesson_id)
        assert worker is not None and worker.pid is not None
        old_pid = worker.pid
        os.kill(old_pid, signal.SIGKILL)
        # Everyone in the lesson is told at once (no waiting for ICE to notice), and offers
        # anew, as the web pages do: the lesson gets a fresh room on a fresh worker.
        for client in (teacher.client, student.client):
            await client.wait_for("media_restart", lambda _: True, timeout=10)
        assert media.workers.pinned(lesson_id) is None
        await teacher.publish()
        await student.subscribe()
        await frames_flow(student, "after the worker was replaced")
        again = media.workers.pinned(lesson_id)
        assert again is not None and again.pid not in (None, old_pid)
    finally:
        await student.close()
        await teacher.close()


async def test_the_lesson_end_closes_its_room_in_the_worker(two_workers: Running) -> None:
    media = media_of(two_workers)
    room, teacher, student = await class_with_media(two_workers)
    lesson_id = room.lesson["id"]
    try:
        worker = media.workers.pinned(lesson_id)
        assert worker is not None
        assert lesson_id in await worker.call(lesson_id, "lessons", {})
        async with two_workers.rest() as rest:
            await rest.end_lesson(lesson_id)
        await until(lambda: media.workers.pinned(lesson_id) is None, "the lesson to be released")
        assert lesson_id not in await worker.call("-", "lessons", {})
    finally:
        await student.close()
        await teacher.close()


async def test_a_stuck_worker_does_not_hold_up_the_lesson(two_workers: Running) -> None:
    """Following the lesson (someone left: drop their media) happens beside the commands."""
    media = media_of(two_workers)
    room, teacher, student = await class_with_media(two_workers)
    worker = media.workers.pinned(room.lesson["id"])
    assert worker is not None and worker.pid is not None
    os.kill(worker.pid, signal.SIGSTOP)  # alive, but answers nothing
    try:
        await student.client.leave()  # its media follow-up waits for the worker…
        sent = await teacher.client.chat("still here")  # …the lesson does not
        assert sent["ok"], sent
    finally:
        os.kill(worker.pid, signal.SIGCONT)
        await student.close()
        await teacher.close()


async def test_workers_end_with_the_server(tmp_path: Path, redis_url: str) -> None:
    settings = settings_for(tmp_path / "var", redis_url, free_port(), SABAK_MEDIA_WORKERS="2")
    running = await start_server(settings)
    media = media_of(running)
    await media.start()
    pids = [w.pid for w in media.workers.workers]
    assert all(pid is not None and psutil.pid_exists(pid) for pid in pids)
    await running.runner.cleanup()
    assert not any(pid is not None and psutil.pid_exists(pid) for pid in pids)


async def test_workers_end_when_the_server_is_killed(tmp_path: Path, redis_url: str) -> None:
    env = clean_env(
        SABAK_REDIS_URL=redis_url,
        SABAK_SERVER_PORT=str(free_port()),
        SABAK_SERVER_DATA_DIR=str(tmp_path / "var"),
        SABAK_MEDIA_WORKERS="2",
    )
    server = await sabak_serve(env)
    try:
        workers = psutil.Process(server.pid).children()
        assert len(workers) == 2, "`sabak serve` starts its media workers at once"
        assert all("media.worker" in " ".join(w.cmdline()) for w in workers)
        server.send_signal(signal.SIGKILL)
        await server.wait()
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, "a worker outlived its killed server"
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()


def test_worker_count_defaults_to_the_cores() -> None:
    assert worker_count(0) == len(os.sched_getaffinity(0))
    assert worker_count(3) == 3


async def test_an_unknown_operation_is_refused_with_a_code() -> None:
    sent: list[dict[str, Any]] = []
    worker = Worker(RoomOptions(), sent.append)
    with pytest.raises(MediaError) as refused:
        await worker.perform("L1", "transcode", {})
    assert refused.value.code == "bad-request"
    assert worker.rooms == {}


async def test_lessons_go_to_the_least_busy_worker() -> None:
    workers = MediaWorkers(2, RoomOptions())
    first, second, third = (workers._pin(f"L{i}") for i in range(3))
    assert first is not second and third is first
    assert workers._pin("L0") is first  # pinned stays pinned
