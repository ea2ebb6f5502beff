"""Courses, rosters, teachers and lesson records, kept as JSON documents in Redis hashes."""

from __future__ import annotations

import dataclasses
import json
import secrets
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis.asyncio as aioredis

from core.names import sort_key

T = TypeVar("T")


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(5)}"


@dataclass(frozen=True)
class Course:
    id: str
    title: str
    created_ms: int


@dataclass(frozen=True)
class Student:
    id: str
    course_id: str
    name: str
    external_id: str = ""
    link_version: int = 1


@dataclass(frozen=True)
class Teacher:
    id: str
    name: str
    course_ids: tuple[str, ...] = ()
    link_version: int = 1


@dataclass(frozen=True)
class LessonInfo:
    id: str
    course_id: str
    title: str
    teacher_id: str
    code: str
    allow_guests: bool
    created_ms: int
    status: str = "created"
    started_ms: int | None = None
    ended_ms: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RedisDirectory:
    """One Redis hash per kind of record; each value is the record as JSON."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis, self.prefix = redis, prefix

    def _key(self, kind: str) -> str:
        return f"{self.prefix}:dir:{kind}"

    async def put(self, record: Any) -> None:
        kind = type(record).__name__
        await self.redis.hset(self._key(kind), record.id, json.dumps(dataclasses.asdict(record)))
        if isinstance(record, Student):
            await self.redis.sadd(self._key(f"roster:{record.course_id}"), record.id)
        if isinstance(record, LessonInfo):
            await self.redis.sadd(self._key(f"lessons:{record.course_id}"), record.id)
            await self.redis.hset(self._key("codes"), record.code, record.id)

    async def delete(self, record: Any) -> None:
        """Remove a record and the indexes that point to it (not what it owns: see datarights)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self._key(type(record).__name__), record.id)
        if isinstance(record, Student):
            pipe.srem(self._key(f"roster:{record.course_id}"), record.id)
        if isinstance(record, LessonInfo):
            pipe.srem(self._key(f"lessons:{record.course_id}"), record.id)
        if isinstance(record, Course):
            pipe.delete(self._key(f"roster:{record.id}"), self._key(f"lessons:{record.id}"))
        await pipe.execute()
        if isinstance(record, LessonInfo):
            await self.forget_code(record)

    async def forget_code(self, info: LessonInfo) -> None:
        """An ended or deleted lesson's guest code opens nothing any more."""
        if await self.redis.hget(self._key("codes"), info.code) == info.id:
            await self.redis.hdel(self._key("codes"), info.code)

    async def get(self, cls: type[T], record_id: str) -> T | None:
        raw = await self.redis.hget(self._key(cls.__name__), record_id)
        return load_record(cls, raw) if raw else None

    async def all(self, cls: type[T]) -> list[T]:
        rows = await self.redis.hvals(self._key(cls.__name__))
        return [load_record(cls, raw) for raw in rows]

    async def many(self, cls: type[T], ids: list[Any]) -> list[T]:
        if not ids:
            return []
        rows = await self.redis.hmget(self._key(cls.__name__), ids)
        return [load_record(cls, raw) for raw in rows if raw]

    async def roster(self, course_id: str) -> list[Student]:
        ids = sorted(await self.redis.smembers(self._key(f"roster:{course_id}")))
        return sorted(await self.many(Student, ids), key=lambda s: (sort_key(s.name), s.id))

    async def lessons(self, course_id: str) -> list[LessonInfo]:
        ids = sorted(await self.redis.smembers(self._key(f"lessons:{course_id}")))
        return sorted(await self.many(LessonInfo, ids), key=lambda x: x.created_ms)

    async def change_code(self, old: LessonInfo, new: LessonInfo) -> None:
        """Store `new` and let the old code open nothing any more."""
        await self.put(new)
        if old.code != new.code:
            await self.redis.hdel(self._key("codes"), old.code)

    async def lesson_by_code(self, code: str) -> LessonInfo | None:
        lesson_id = await self.redis.hget(self._key("codes"), code)
        return await self.get(LessonInfo, str(lesson_id)) if lesson_id else None


def load_record(cls: type[T], raw: str | bytes) -> T:
    """A record from its JSON (lists back into the tuples the record declares)."""
    data = json.loads(raw)
    hints = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for name, f in hints.items():
        if name in data and "tuple" in str(f.type) and isinstance(data[name], list):
            data[name] = tuple(data[name])
    return cls(**data)
