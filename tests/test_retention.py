"""Retention that runs: abandoned lessons end by themselves, old lessons and audit entries go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.rest import RestClient, RestError, token_from_link
from lessons.live import wall_ms
from server.appkeys import LIVE, REDIS, RETENTION
from store.eventlog import lesson_key
from store.personal import text_key
from tests.conftest import Running, free_port, make_classroom, settings_for, start_server
from tests.test_datarights import joined
from tests.test_security import refused_connect

DAY_MS = 86_400_000


@pytest.fixture
async def quick(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    """A server that ends a lesson 1.2 s after its teacher went, and keeps data one day."""
    settings = settings_for(
        tmp_path / "var",
        redis_url,
        free_port(),
        SABAK_LESSON_AUTO_END_NO_TEACHER_MIN="0.02",
        SABAK_ATTENDANCE_RETENTION_DAYS="1",
    )
    running = await start_server(settings)
    try:
        yield running
    finally:
        await running.runner.cleanup()


async def test_a_lesson_whose_teacher_left_ends_by_itself_and_its_code_stops_working(
    quick: Running,
) -> None:
    room = await make_classroom(quick, n_students=1, allow_guests=True)
    lesson_id = room.lesson["id"]
    teacher = await joined(quick, room.teacher["link"], lesson_id)
    ana = await joined(quick, room.students[0]["link"], lesson_id)
    await teacher.close()  # the tab closed: nobody ends the lesson
    ended = await ana.next("lesson_ended", timeout=10)
    assert ended == {"reason": "no-teacher"}
    async with quick.rest() as rest:
        assert (await rest.request("GET", f"/api/lessons/{lesson_id}"))["status"] == "ended"
    guest = {"guest_code": room.lesson["code"], "name": "Guest"}
    assert await refused_connect(quick, guest) == "unknown-code"


async def test_a_live_lesson_nobody_runs_after_a_restart_is_taken_in_hand(
    tmp_path: Path, redis_url: str
) -> None:
    first = await start_server(settings_for(tmp_path / "var", redis_url, free_port()))
    room = await make_classroom(first, n_students=0)
    await first.runner.cleanup()  # the lesson stays live in the directory and the log
    settings = settings_for(
        tmp_path / "var", redis_url, free_port(), SABAK_LESSON_AUTO_END_NO_TEACHER_MIN="0.02"
    )
    second = await start_server(settings)
    try:
        await second.app[RETENTION].sweep()
        async with second.rest() as rest:
            for _ in range(100):
                info = await rest.request("GET", f"/api/lessons/{room.lesson['id']}")
                if info["status"] == "ended":
                    break
                await asyncio.sleep(0.1)
        assert info["status"] == "ended"
    finally:
        await second.runner.cleanup()


async def test_retention_removes_old_lessons_their_logs_and_audit_entries(
    quick: Running,
) -> None:
    room = await make_classroom(quick, n_students=1)
    lesson_id = room.lesson["id"]
    async with quick.rest() as rest:
        await rest.end_lesson(lesson_id)
    async with RestClient(quick.url, token_from_link(room.teacher["link"])) as teacher:
        with pytest.raises(RestError):  # a known person refused: an audit entry
            await teacher.request("GET", "/api/audit")
    async with quick.rest() as rest:
        for _ in range(50):
            if await rest.request("GET", "/api/audit"):
                break
            await asyncio.sleep(0.1)
        assert await rest.request("GET", "/api/audit")  # the refusal is audited
    kept = await make_classroom(quick, n_students=0, start=False)
    await quick.app[RETENTION].sweep()  # nothing is a day old yet
    async with quick.rest() as rest:
        assert (await rest.request("GET", f"/api/lessons/{lesson_id}"))["status"] == "ended"
    quick.app[LIVE].clock = lambda: wall_ms() + 2 * DAY_MS  # two days later
    await quick.app[RETENTION].sweep()
    async with quick.rest() as rest:
        with pytest.raises(RestError) as gone:
            await rest.request("GET", f"/api/lessons/{lesson_id}")
        assert gone.value.status == 404
        assert await rest.request("GET", "/api/audit") == []
        assert await rest.request("GET", f"/api/lessons/{kept.lesson['id']}")  # not ended
    prefix = quick.settings.redis.key_prefix
    redis = quick.app[REDIS]
    assert await redis.exists(lesson_key(prefix, lesson_id), text_key(prefix, lesson_id)) == 0
