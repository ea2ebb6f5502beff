"""Where a lesson runs: the bus's order, a lone host, and two cluster hosts in one process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
import redis.asyncio as aioredis

from core import commands as c
from core.errors import Refused
from core.events import Record
from core.lesson import SYSTEM, Actor, Lesson
from core.rules import Rules
from lessons.bus import LessonBus
from lessons.clustered import ClusterHost
from lessons.host import LessonHost, LocalHost
from lessons.live import LiveLessons
from store.cluster import Cluster
from store.directory import LessonInfo, RedisDirectory
from store.eventlog import EventLog
from store.tail import LogTail

PREFIX = "hosts"
LESSON = "L1"
TEACHER = Actor("t1", "teacher", "Teacher")
RULES = Rules(chat_rate_messages=100, events_per_minute=1000)


@dataclass
class Heard:
    """What one process's bus listeners heard, as (kind, seq, event name) in order."""

    items: list[tuple[str, int, str]] = field(default_factory=list)

    def listener(self, kind: str) -> Any:
        async def hear(lesson: Lesson, records: tuple[Record, ...]) -> None:
            self.items += [(kind, r.seq, type(r.event).__name__) for r in records]

        return hear

    def of(self, kind: str) -> list[tuple[int, str]]:
        return [(seq, name) for k, seq, name in self.items if k == kind]


def test_the_bus_tells_each_kind_to_its_listeners_in_the_order_they_subscribed() -> None:
    bus, heard = LessonBus(), list[str]()
    for name in ("stored first", "stored second"):
        bus.on_stored(partial(_note, heard, name))
    bus.on_mirrored(partial(_note, heard, "mirrored"))
    bus.on_notice(lambda lesson_id, name, data: heard.append(f"notice {lesson_id} {name}"))
    lesson = Lesson(LESSON, "C1", RULES)
    asyncio.run(bus.stored(lesson, ()))
    asyncio.run(bus.mirrored(lesson, ()))
    bus.notice(LESSON, "media_restart", {})
    assert heard == ["stored first", "stored second", "mirrored", "notice L1 media_restart"]


async def _note(heard: list[str], what: str, lesson: Lesson, records: tuple[Record, ...]) -> None:
    await asyncio.sleep(0)  # a listener that yields still finishes before the next one starts
    heard.append(what)


async def _lesson_record(redis: aioredis.Redis) -> None:
    info = LessonInfo(LESSON, "C1", "Fractions", TEACHER.participant_id, "ABC234", True, 0)
    await RedisDirectory(redis, PREFIX).put(info)


def _lessons(redis: aioredis.Redis, bus: LessonBus) -> LiveLessons:
    return LiveLessons(RedisDirectory(redis, PREFIX), EventLog(redis, PREFIX, 1000), RULES, bus)


async def test_a_lone_host_publishes_events_after_storing_them_and_in_order(
    redis_url: str,
) -> None:
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await _lesson_record(redis)
    bus = LessonBus()
    lessons = _lessons(redis, bus)
    host: LessonHost = LocalHost(lessons)
    logged: list[int] = []

    async def read_the_log(lesson: Lesson, records: tuple[Record, ...]) -> None:
        logged.append(len(await lessons.eventlog.read(lesson.id)))
        assert logged[-1] >= records[-1].seq, "published before it was stored"

    heard = Heard()  # first: a listener that yields (as this reader does) lets the
    bus.on_stored(heard.listener("stored"))  # next command's listeners run meanwhile
    bus.on_stored(read_the_log)
    lessons.eventlog.start()
    try:
        assert host.sees_every_socket
        await host.run(LESSON, SYSTEM, c.StartLesson("Fractions", TEACHER.participant_id, True))
        await host.run(LESSON, TEACHER, c.Join())
        chats = [c.SendChat(f"m{i}", f"message {i}") for i in range(20)]
        await asyncio.gather(*(host.run(LESSON, TEACHER, chat) for chat in chats))
        seqs = [seq for seq, _ in heard.of("stored")]
        assert seqs == list(range(1, 23)) and len(logged) == 22
        with pytest.raises(Refused) as refused:
            await host.media(LESSON, TEACHER, "media_receiving", {})
        assert refused.value.code == "media-unavailable"  # no media glue was given to it
    finally:
        await lessons.eventlog.close()
        await redis.aclose()


@dataclass
class Process:
    """What one server process of a cluster holds: its host, its bus's news, its Redis."""

    host: ClusterHost
    heard: Heard
    redis: aioredis.Redis

    async def close(self) -> None:
        await self.host.close()
        await self.host.lessons.eventlog.close()
        await self.redis.aclose()


async def _process(redis_url: str) -> Process:
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    listener = aioredis.Redis.from_url(redis_url, decode_responses=True)
    bus, heard = LessonBus(), Heard()
    bus.on_stored(heard.listener("stored"))
    bus.on_mirrored(heard.listener("mirrored"))
    tail = LogTail(listener, redis, PREFIX)
    host = ClusterHost(_lessons(redis, bus), Cluster(redis, PREFIX, listener), tail)
    host.lessons.eventlog.start()
    host.start()
    return Process(host, heard, redis)


@pytest.fixture
async def two(redis_url: str) -> AsyncIterator[tuple[Process, Process]]:
    first = await _process(redis_url)
    second = await _process(redis_url)
    await _lesson_record(first.redis)
    yield first, second
    for process in (first, second):
        await process.close()


async def test_the_owner_publishes_what_it_stores_and_the_other_process_only_mirrors_it(
    two: tuple[Process, Process],
) -> None:
    owner, other = two
    assert not other.host.sees_every_socket  # so the waiting-room sweep leaves guests alone
    await other.host.get(LESSON)  # a mirror, before the lesson has any event
    await owner.host.run(LESSON, SYSTEM, c.StartLesson("Fractions", TEACHER.participant_id, True))
    await other.host.run(LESSON, TEACHER, c.Join())  # forwarded to the owner
    assert owner.heard.of("stored") == [(1, "LessonStarted"), (2, "ParticipantJoined")]
    assert other.heard.of("mirrored") == [(1, "LessonStarted"), (2, "ParticipantJoined")]
    assert other.heard.of("stored") == [] and owner.heard.of("mirrored") == []
    assert (await other.host.get(LESSON)).participants[TEACHER.participant_id].presence == (
        "present"
    )
    with pytest.raises(Refused) as refused:  # the owner's refusal, with its code, over Redis
        await other.host.media(LESSON, TEACHER, "media_receiving", {})
    assert refused.value.code == "media-unavailable"


async def test_a_takeover_marks_the_restart_before_the_command_that_caused_it(
    two: tuple[Process, Process],
) -> None:
    owner, other = two
    await other.host.get(LESSON)
    await owner.host.run(LESSON, SYSTEM, c.StartLesson("Fractions", TEACHER.participant_id, True))
    await owner.host.run(LESSON, TEACHER, c.Join())
    await owner.host.close()  # a clean stop gives its lease up at once
    assert not await owner.redis.exists(f"{PREFIX}:lesson:{{{LESSON}}}:owner")
    await other.host.run(LESSON, TEACHER, c.Join())  # the other process takes the lesson
    stored = [name for _, name in other.heard.of("stored")]
    assert stored[0] == "ServerRestarted" and stored[-1] == "ParticipantJoined", stored
    assert [seq for seq, _ in other.heard.of("mirrored")] == [1, 2]
    lesson = await other.host.get(LESSON)
    assert lesson.participants[TEACHER.participant_id].presence == "present"
    assert [h.id for h in other.host.driven()] == [LESSON]
