"""The in-memory store: the Redis store's protocols (store/protocols.py) kept in this process.

For tests and one-process trials only (`[redis] url = "memory://"`): nothing survives the
process. It keeps what the Redis store keeps in the same encoded form (the JSON records of
store/directory.py, the stream entries and text fields of store/eventlog.py), so that it
behaves the same: tests/test_store_contract.py runs the same tests on both. What Redis
expires (EXPIRE, SET EX) expires here by the clock the store is given (ms).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from core import events as e
from core.events import Record
from core.names import sort_key
from store.alive import KEEP_S
from store.audit import MAX_ENTRIES, NOISE_KEEP_S
from store.directory import Course, LessonInfo, Student, load_record
from store.eventlog import READ_CHUNK, OutboxFull, decode, encode
from store.personal import chat_field

Clock = Callable[[], int]
K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


def wall_ms() -> int:
    return int(time.time() * 1000)


class Expiring(Generic[K, V]):
    """A dict whose entries may be given a deadline by the clock, as Redis keys an EXPIRE."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._items: dict[K, V] = {}
        self._until: dict[K, int] = {}

    def get(self, key: K) -> V | None:
        if key in self._until and self._until[key] <= self.clock():
            self.pop(key)
        return self._items.get(key)

    def setdefault(self, key: K, value: V) -> V:
        """The value, or `value` stored without a deadline if there is none (HSET, XADD)."""
        found = self.get(key)
        if found is None:
            self._items[key] = found = value
        return found

    def put(self, key: K, value: V, ttl_ms: int) -> None:
        """SET with EX: a new value and a new deadline."""
        self._items[key], self._until[key] = value, self.clock() + ttl_ms

    def expire(self, key: K, ttl_ms: int) -> None:
        if self.get(key) is not None:
            self._until[key] = self.clock() + ttl_ms

    def pop(self, key: K) -> None:
        self._items.pop(key, None)
        self._until.pop(key, None)


class MemoryDirectory:
    """The records as JSON by kind, and the same indexes as the Redis hashes and sets."""

    def __init__(self) -> None:
        self._rows: defaultdict[str, dict[str, str]] = defaultdict(dict)
        self._sets: defaultdict[str, set[str]] = defaultdict(set)

    async def put(self, record: Any) -> None:
        self._rows[type(record).__name__][record.id] = json.dumps(dataclasses.asdict(record))
        if isinstance(record, Student):
            self._sets[f"roster:{record.course_id}"].add(record.id)
        if isinstance(record, LessonInfo):
            self._sets[f"lessons:{record.course_id}"].add(record.id)
            self._rows["codes"][record.code] = record.id

    async def delete(self, record: Any) -> None:
        self._rows[type(record).__name__].pop(record.id, None)
        if isinstance(record, Student):
            self._sets[f"roster:{record.course_id}"].discard(record.id)
        if isinstance(record, LessonInfo):
            self._sets[f"lessons:{record.course_id}"].discard(record.id)
            await self.forget_code(record)
        if isinstance(record, Course):
            self._sets.pop(f"roster:{record.id}", None)
            self._sets.pop(f"lessons:{record.id}", None)

    async def forget_code(self, info: LessonInfo) -> None:
        if self._rows["codes"].get(info.code) == info.id:
            del self._rows["codes"][info.code]

    async def get(self, cls: type[T], record_id: str) -> T | None:
        raw = self._rows[cls.__name__].get(record_id)
        return load_record(cls, raw) if raw else None

    async def all(self, cls: type[T]) -> list[T]:
        return [load_record(cls, raw) for raw in self._rows[cls.__name__].values()]

    async def roster(self, course_id: str) -> list[Student]:
        students = [await self.get(Student, i) for i in self._sets[f"roster:{course_id}"]]
        return sorted((s for s in students if s), key=lambda s: (sort_key(s.name), s.id))

    async def lessons(self, course_id: str) -> list[LessonInfo]:
        found = [await self.get(LessonInfo, i) for i in sorted(self._sets[f"lessons:{course_id}"])]
        return sorted((x for x in found if x), key=lambda x: x.created_ms)

    async def change_code(self, old: LessonInfo, new: LessonInfo) -> None:
        await self.put(new)
        if old.code != new.code:
            self._rows["codes"].pop(old.code, None)

    async def lesson_by_code(self, code: str) -> LessonInfo | None:
        lesson_id = self._rows["codes"].get(code)
        return await self.get(LessonInfo, lesson_id) if lesson_id else None


class MemoryAliveMarks:
    """The time of each live lesson's last mark, kept a week as in Redis."""

    def __init__(self, clock: Clock) -> None:
        self._marks: Expiring[str, int] = Expiring(clock)

    async def mark(self, lesson_ids: list[str], now_ms: int) -> None:
        for lesson_id in lesson_ids:
            self._marks.put(lesson_id, now_ms, KEEP_S * 1000)

    async def last(self, lesson_id: str) -> int | None:
        return self._marks.get(lesson_id)

    def forget(self, lesson_id: str) -> None:
        self._marks.pop(lesson_id)


class MemoryLog:
    """Each lesson's stream entries by seq and its text fields; stored at once, never pending."""

    def __init__(self, outbox_max: int, clock: Clock = wall_ms) -> None:
        self.outbox_max, self.healthy, self.pending = outbox_max, True, 0
        self.alive = MemoryAliveMarks(clock)
        self._entries: Expiring[str, list[tuple[int, dict[str, str]]]] = Expiring(clock)
        self._texts: Expiring[str, dict[str, str]] = Expiring(clock)

    def start(self) -> None:
        """Nothing runs in the background: a record is stored when it is appended."""

    async def close(self) -> None:
        """Nothing waits to be stored."""

    def check_room(self, count: int = 1) -> None:
        if count > self.outbox_max:
            raise OutboxFull(f"{count} events at once are more than the outbox holds")

    def append(self, lesson_id: str, records: tuple[Record, ...]) -> asyncio.Future[None]:
        for record in records:
            self._store(lesson_id, record)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def _store(self, lesson_id: str, record: Record) -> None:
        # In the order of the Redis writer's pipeline: text first, then the entry if newer.
        entry, personal = encode(record)
        if personal is not None:
            self._texts.setdefault(lesson_id, {})[personal[0]] = personal[1]
        if isinstance(record.event, e.ChatDeleted):  # a deleted message is unreadable
            (self._texts.get(lesson_id) or {}).pop(chat_field(record.event.message_id), None)
        entries = self._entries.setdefault(lesson_id, [])
        if not entries or record.seq > entries[-1][0]:  # a seq stored already is not again
            entries.append((record.seq, entry))

    async def read(self, lesson_id: str, after_seq: int = 0, limit: int = 0) -> list[Record]:
        rows = [entry for seq, entry in self._entries.get(lesson_id) or [] if seq > after_seq]
        rows = rows[:limit] if limit else rows
        texts: dict[str, str | None] = dict(self._texts.get(lesson_id) or {})
        records: list[Record] = []
        for at in range(0, len(rows), READ_CHUNK):  # as from Redis: a huge log never holds the loop
            records += await asyncio.to_thread(_decode_all, rows[at : at + READ_CHUNK], texts)
        return records

    async def rewrite_texts(self, lesson_id: str, values: dict[str, Any], drop: list[str]) -> None:
        texts = self._texts.setdefault(lesson_id, {})
        texts.update({name: json.dumps(value) for name, value in values.items()})
        for name in drop:
            texts.pop(name, None)

    async def expire(self, lesson_id: str, seconds: int) -> None:
        self._entries.expire(lesson_id, seconds * 1000)
        self._texts.expire(lesson_id, seconds * 1000)

    async def delete(self, lesson_id: str) -> None:
        self._entries.pop(lesson_id)
        self._texts.pop(lesson_id)
        self.alive.forget(lesson_id)

    async def compact(self) -> None:
        """Nothing is on disk: erased text is gone once it is erased."""


def _decode_all(rows: list[dict[str, str]], texts: dict[str, str | None]) -> list[Record]:
    return [decode(entry, texts) for entry in rows]


class MemoryAuditRows:
    """The newest audit entries, with when each was added, and one counter per hour."""

    def __init__(self, clock: Clock = wall_ms) -> None:
        self.clock = clock
        self._entries: deque[tuple[int, dict[str, str]]] = deque(maxlen=MAX_ENTRIES)
        self._hours: Expiring[str, Counter[str]] = Expiring(clock)

    async def add(self, entry: dict[str, str]) -> None:
        self._entries.append((self.clock(), dict(entry)))

    async def add_counts(self, counts: Counter[tuple[str, str]]) -> None:
        for (hour, field), n in counts.items():
            self._hours.setdefault(hour, Counter())[field] += n
            self._hours.expire(hour, NOISE_KEEP_S * 1000)

    async def hour(self, hour: str) -> dict[str, int]:
        return dict(self._hours.get(hour) or {})

    async def newest(self, count: int) -> list[dict[str, Any]]:
        return [dict(entry) for _, entry in reversed(self._entries)][:count]

    async def trim(self, before_ms: int) -> None:
        while self._entries and self._entries[0][0] < before_ms:
            self._entries.popleft()
