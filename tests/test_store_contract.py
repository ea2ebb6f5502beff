"""One contract, two stores: every test here runs on the Redis store and on the in-memory one.

The in-memory store (store/memory.py) stands in for Redis in the tests that are not about
Redis; these tests are what proves it behaves the same. Redis is the real one the tests start
(tests/redis_fixture.py); expiry is waited for on Redis and clocked forward in memory.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from core import events as e
from core.events import Record
from lessons.live import wall_ms
from store.audit import Audit, RedisAuditRows
from store.directory import Course, LessonInfo, RedisDirectory, Student, Teacher
from store.eventlog import EventLog, OutboxFull
from store.memory import MemoryAuditRows, MemoryDirectory, MemoryLog
from store.notices import Notices
from store.personal import chat_field, name_field
from store.protocols import AuditRows, Directory, LessonLog
from tests.redis_fixture import running_redis


@dataclass
class Store:
    directory: Directory
    log: LessonLog
    audit: AuditRows
    later: Callable[[float], Awaitable[None]]  # let that many seconds pass


@pytest.fixture(params=["redis", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        now = [wall_ms()]

        async def later(seconds: float) -> None:
            now[0] += int(seconds * 1000)

        def clock() -> int:
            return now[0]

        yield Store(MemoryDirectory(), MemoryLog(100, clock), MemoryAuditRows(clock), later)
        return
    async with running_redis(tmp_path) as (_, url):
        redis = aioredis.Redis.from_url(url, decode_responses=True)
        log = EventLog(redis, "t", 100)
        log.start()
        try:
            yield Store(RedisDirectory(redis, "t"), log, RedisAuditRows(redis, "t"), asyncio.sleep)
        finally:
            await log.close()
            await redis.aclose()


def lesson(lesson_id: str, code: str, created_ms: int, course_id: str = "c1") -> LessonInfo:
    return LessonInfo(lesson_id, course_id, "Fractions", "t1", code, True, created_ms)


# --- the directory -------------------------------------------------------------------------


async def test_records_come_back_as_stored_with_their_indexes_in_order(store: Store) -> None:
    d = store.directory
    await d.put(Course("c1", "Algebra", 1))
    for student in (Student("s2", "c1", "Өмүр"), Student("s1", "c1", "Омор"),
                    Student("s3", "c1", "Омор"), Student("s4", "c1", "Яна"),
                    Student("s9", "c2", "Other")):  # fmt: skip
        await d.put(student)
    await d.put(Teacher("t1", "Aigul", ("c1", "c2")))
    await d.put(lesson("l2", "CODE2", 20))
    await d.put(lesson("l1", "CODE1", 10))
    assert await d.get(Teacher, "t1") == Teacher("t1", "Aigul", ("c1", "c2"))
    assert await d.get(Course, "nope") is None
    # By name in Kyrgyz order (Ө after О, before Я), then id.
    assert [s.id for s in await d.roster("c1")] == ["s1", "s3", "s2", "s4"]
    assert [x.id for x in await d.lessons("c1")] == ["l1", "l2"]  # by creation
    assert await d.lesson_by_code("CODE2") == lesson("l2", "CODE2", 20)
    assert await d.lesson_by_code("NONE") is None
    assert {c.id for c in await d.all(Course)} == {"c1"}
    changed = replace(await d.get(Student, "s1") or Student("", "", ""), name="Aida A.")
    await d.put(changed)
    assert await d.get(Student, "s1") == changed


async def test_deleting_and_recoding_drop_what_pointed_to_the_old(store: Store) -> None:
    d = store.directory
    await d.put(Student("s1", "c1", "Aida"))
    await d.put(lesson("l1", "OLD", 10))
    await d.change_code(lesson("l1", "OLD", 10), lesson("l1", "NEW", 10))
    assert await d.lesson_by_code("OLD") is None
    assert (await d.lesson_by_code("NEW") or lesson("", "", 0)).id == "l1"
    await d.put(lesson("l2", "NEW", 20))  # the code now opens another lesson
    await d.forget_code(lesson("l1", "NEW", 10))  # so forgetting l1's code leaves it
    assert (await d.lesson_by_code("NEW") or lesson("", "", 0)).id == "l2"
    await d.delete(lesson("l2", "NEW", 20))
    assert await d.lesson_by_code("NEW") is None
    assert [x.id for x in await d.lessons("c1")] == ["l1"]
    await d.delete(Student("s1", "c1", "Aida"))
    assert await d.roster("c1") == [] and await d.get(Student, "s1") is None
    await d.put(Student("s2", "c1", "Bek"))
    await d.delete(Course("c1", "Algebra", 1))  # its indexes go; the records are datarights'
    assert await d.roster("c1") == [] and await d.lessons("c1") == []


# --- the lesson log ------------------------------------------------------------------------


def joined(seq: int, pid: str, name: str) -> Record:
    return Record(seq, 1000 + seq, pid, e.ParticipantJoined(pid, name, "student"))


def chat(seq: int, message_id: int, text: str) -> Record:
    return Record(seq, 1000 + seq, "s1", e.ChatPosted(message_id, f"c{seq}", "s1", text, "all"))


async def test_records_come_back_in_order_exactly_once_by_seq(store: Store) -> None:
    log = store.log
    first = (joined(1, "s1", "Aida"), chat(2, 1, "Salam"), joined(3, "s2", "Bek"))
    await log.append("l1", first)
    await log.append("l1", first[1:])  # a retry of records stored already
    await log.append("l1", (chat(4, 2, "Kandaisyz"),))
    await log.append("l1", (chat(2, 9, "an older seq again"),))
    await log.append("l2", (joined(1, "s9", "Other"),))
    assert [r.seq for r in await log.read("l1")] == [1, 2, 3, 4]
    assert await log.read("l1") == [*first, chat(4, 2, "Kandaisyz")]
    assert [r.seq for r in await log.read("l1", after_seq=2)] == [3, 4]
    assert [r.seq for r in await log.read("l1", after_seq=1, limit=2)] == [2, 3]
    assert await log.read("nothing") == []
    assert log.healthy and log.pending == 0


async def test_personal_text_is_kept_beside_the_log_and_erasable(store: Store) -> None:
    log = store.log
    await log.append("l1", (joined(1, "s1", "Aida"), chat(2, 1, "my phone: 555")))
    await log.append("l1", (chat(3, 2, "hello"),))
    await log.append("l1", (Record(4, 1004, "t1", e.ChatDeleted(2)),))
    assert [getattr(r.event, "text", None) for r in await log.read("l1")] == [
        None, "my phone: 555", "", None,  # a deleted message reads as empty
    ]  # fmt: skip
    await log.rewrite_texts("l1", {name_field("s1"): "erased-1"}, [chat_field(1)])
    records = await log.read("l1")
    assert records[0].event == e.ParticipantJoined("s1", "erased-1", "student")
    assert records[1].event == e.ChatPosted(1, "c2", "s1", "", "all")
    assert [r.seq for r in records] == [1, 2, 3, 4]  # the log itself is unchanged


async def test_a_lesson_s_data_expires_or_is_deleted_as_a_whole(store: Store) -> None:
    log = store.log
    await log.append("l1", (joined(1, "s1", "Aida"),))
    await log.append("l2", (joined(1, "s2", "Bek"),))
    await log.alive.mark(["l2"], 12345)
    await log.expire("l1", 1)
    assert [r.event for r in await log.read("l1")] == [e.ParticipantJoined("s1", "Aida", "student")]
    await store.later(1.2)
    assert await log.read("l1") == []
    await log.delete("l2")
    assert await log.read("l2") == [] and await log.alive.last("l2") is None
    await log.append("l2", (joined(1, "s3", "Cholpon"),))  # a fresh log, no old text
    assert [r.event for r in await log.read("l2")] == [
        e.ParticipantJoined("s3", "Cholpon", "student")
    ]
    await log.compact()


async def test_alive_marks_keep_the_last_time(store: Store) -> None:
    marks = store.log.alive
    assert await marks.last("l1") is None
    await marks.mark([], 5)
    await marks.mark(["l1", "l2"], 1000)
    await marks.mark(["l1"], 2000)
    assert (await marks.last("l1"), await marks.last("l2")) == (2000, 1000)


async def test_a_batch_larger_than_the_outbox_is_refused(store: Store) -> None:
    store.log.check_room(100)
    with pytest.raises(OutboxFull):
        store.log.check_room(101)


# --- the audit trail -----------------------------------------------------------------------


async def test_audit_entries_newest_first_trimmed_by_age(store: Store) -> None:
    rows = store.audit
    for i in range(3):
        await rows.add({"ts": str(i), "code": "forbidden", "n": str(i)})
    assert [x["n"] for x in await rows.newest(2)] == ["2", "1"]
    await rows.trim(wall_ms() - 60_000)  # nothing is a minute old
    assert len(await rows.newest(10)) == 3
    await store.later(0.05)
    await rows.trim(wall_ms() + 60_000)
    assert await rows.newest(10) == []


async def test_audit_noise_is_counted_by_hour(store: Store) -> None:
    rows = store.audit
    await rows.add_counts(Counter({("2026-01-01T10", "connect|bad-token|1.2.3.0/24"): 2}))
    await rows.add_counts(Counter({("2026-01-01T10", "connect|bad-token|1.2.3.0/24"): 3,
                                   ("2026-01-01T11", "x|y|z"): 1}))  # fmt: skip
    assert await rows.hour("2026-01-01T10") == {"connect|bad-token|1.2.3.0/24": 5}
    assert await rows.hour("2026-01-01T09") == {}


async def test_the_audit_trail_writes_through_its_rows(store: Store) -> None:
    audit = Audit(store.audit)
    audit.start()
    audit.record("forbidden", event="GET /api/x", actor="t1")
    audit.record("bad-token", event="connect", address="203.0.113.9")
    audit.record("not-audited-at-all")
    await audit.close()
    assert [(x["code"], x["actor"]) for x in await audit.entries()] == [("forbidden", "t1")]
    counts = await audit.counts(hours=1)
    assert [(c["code"], c["network"], c["count"]) for c in counts] == [
        ("bad-token", "203.0.113.0/24", 1)
    ]


async def test_notices_of_one_process_are_handled_here() -> None:
    notices, seen = Notices(None, "t"), []

    async def revoked(person: str, reason: str) -> None:
        seen.append((person, reason))

    async def forgotten(lesson_id: str) -> None:
        seen.append((lesson_id, "forget"))

    notices.on_revoke, notices.on_forget = revoked, forgotten
    notices.start()
    await notices.revoke("s1", "deleted")
    await notices.forget("l1")
    await notices.close()
    assert seen == [("s1", "deleted"), ("l1", "forget")]
