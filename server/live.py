"""Live lessons in memory: loaded from the log on first use, changed only through `run`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from server.classroom import commands as c
from server.classroom.errors import Refused
from server.classroom.events import Record
from server.classroom.lesson import Actor, Lesson, Outcome
from server.classroom.rules import Rules
from server.directory import Directory, LessonInfo
from server.eventlog import EventLog, OutboxFull

log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def __call__(self, lesson: Lesson, records: tuple[Record, ...]) -> None: ...


def wall_ms() -> int:
    return int(time.time() * 1000)


class LiveLessons:
    """The one place where commands meet lessons: decide, apply, persist, publish."""

    def __init__(
        self,
        directory: Directory,
        eventlog: EventLog,
        rules: Rules,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.directory, self.eventlog, self.rules, self.clock = directory, eventlog, rules, clock
        self._lessons: dict[str, Lesson] = {}
        self._loading: dict[str, asyncio.Future[Lesson]] = {}
        self.publishers: list[Publisher] = []

    async def get(self, lesson_id: str) -> Lesson:
        """The lesson, replayed from its log the first time it is asked for."""
        lesson = self._lessons.get(lesson_id)
        if lesson is not None:
            return lesson
        if lesson_id not in self._loading:
            self._loading[lesson_id] = asyncio.ensure_future(self._load(lesson_id))
        try:
            return await asyncio.shield(self._loading[lesson_id])
        finally:
            self._loading.pop(lesson_id, None)

    async def _load(self, lesson_id: str) -> Lesson:
        info = await self.directory.get(LessonInfo, lesson_id)
        if info is None:
            raise Refused("unknown-lesson", "There is no such lesson.")
        lesson = Lesson(info.id, info.course_id, self.rules)
        records = await self.eventlog.read(lesson_id)
        for record in records:
            lesson.apply(record)
        if records:
            log.info("lesson %s rebuilt from %d events", lesson_id, len(records))
        self._lessons[lesson_id] = lesson
        return lesson

    def loaded(self) -> list[Lesson]:
        return list(self._lessons.values())

    async def run(self, lesson_id: str, actor: Actor, command: c.Command) -> Outcome:
        """Execute a command; returns once its events are stored and published."""
        lesson = await self.get(lesson_id)
        try:
            self.eventlog.check_room()
        except OutboxFull:
            raise Refused(
                "log-unavailable", "The server cannot store events right now; try again soon."
            ) from None
        outcome = lesson.execute(actor, command, self.clock())
        await self.eventlog.append(lesson_id, outcome.records)
        if outcome.records:
            await self._after_stored(lesson, outcome.records)
        return outcome

    async def _after_stored(self, lesson: Lesson, records: tuple[Record, ...]) -> None:
        await self._sync_directory(lesson, records)
        for publish in self.publishers:
            await publish(lesson, records)

    async def _sync_directory(self, lesson: Lesson, records: tuple[Record, ...]) -> None:
        kinds = {type(r.event).__name__ for r in records}
        if kinds & {"LessonStarted", "LessonEnded"}:
            info = await self.directory.get(LessonInfo, lesson.id)
            if info is not None:
                await self.directory.put(_with_status(info, lesson))


def _with_status(info: LessonInfo, lesson: Lesson) -> LessonInfo:
    return replace(
        info, status=lesson.status, started_ms=lesson.started_ms, ended_ms=lesson.ended_ms
    )
