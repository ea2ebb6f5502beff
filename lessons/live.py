"""Live lessons in memory: loaded from the log on first use, changed only through `run`.

This is what every host shares (lessons/host.py, lessons/clustered.py): the host decides
where a lesson runs, this class runs it here: decide, apply, persist, then publish on the bus.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace

from core import commands as c
from core.errors import Refused
from core.events import Record
from core.lesson import SYSTEM, Actor, Lesson, Outcome
from core.rules import Rules
from lessons.bus import LessonBus
from store.directory import LessonInfo
from store.eventlog import OutboxFull
from store.protocols import Directory, LessonLog

log = logging.getLogger(__name__)


def wall_ms() -> int:
    return int(time.time() * 1000)


class LiveLessons:
    """The one place where commands meet lessons: decide, apply, persist, publish."""

    def __init__(
        self,
        directory: Directory,
        eventlog: LessonLog,
        rules: Rules,
        bus: LessonBus,
        clock: Callable[[], int] = wall_ms,
        retention_days: int = 0,
    ) -> None:
        self.directory, self.eventlog, self.rules, self.clock = directory, eventlog, rules, clock
        self.bus, self.retention_days = bus, retention_days
        self._lessons: dict[str, Lesson] = {}
        self._loading: dict[str, asyncio.Future[Lesson]] = {}
        # One random key per poll, never stored: an anonymous voter's tag cannot be recomputed
        # from anything on disk (var/secret.key included), and dies with this process.
        self._ballot_keys: dict[tuple[str, int], bytes] = {}

    async def get(self, lesson_id: str, note_restart: bool = True) -> Lesson:
        """The lesson, replayed from its log the first time it is asked for.

        A live lesson found in the log is marked as restarted, unless it is only mirrored
        here (`note_restart` False: another process runs it).
        """
        lesson = self._lessons.get(lesson_id)
        if lesson is not None:
            return lesson
        if lesson_id not in self._loading:
            self._loading[lesson_id] = asyncio.ensure_future(self._load(lesson_id, note_restart))
        try:
            return await asyncio.shield(self._loading[lesson_id])
        finally:
            self._loading.pop(lesson_id, None)

    async def _load(self, lesson_id: str, note_restart: bool) -> Lesson:
        info = await self.directory.get(LessonInfo, lesson_id)
        if info is None:
            raise Refused("unknown-lesson", "There is no such lesson.")
        lesson = Lesson(info.id, info.course_id, self.rules)
        records = await self.eventlog.read(lesson_id)
        # Replaying a long log is a fold like a report's: in a thread, off the event loop.
        await asyncio.to_thread(_replay, lesson, records)
        noted = bool(records) and note_restart
        down_since = await self._down_since(lesson, records[-1].ts_ms) if noted else None
        self._lessons[lesson_id] = lesson
        if noted:
            log.info("lesson %s rebuilt from %d events", lesson_id, len(records))
            await self.note_restart(lesson, down_since)
        return lesson

    async def _down_since(self, lesson: Lesson, last_ts: int) -> int | None:
        """Since when nobody ran this live lesson (its last alive mark or event); None if over."""
        if lesson.status != "live":
            return None
        alive = await self.eventlog.alive.last(lesson.id)
        return max(alive, last_ts) if alive else last_ts

    async def note_restart(self, lesson: Lesson, down_since: int | None) -> None:
        """A live lesson found in the log means this server was down while it ran.

        Call it right after the lesson becomes visible in `_lessons`, with nothing awaited
        in between: the mark is then applied before any command that other tasks send (a
        join applied first would be turned into a gap by the mark that follows it).
        """
        if down_since is not None:
            await self.run(lesson.id, SYSTEM, c.NoteRestart(down_since))

    async def forget(self, lesson_id: str) -> None:
        """Drop the copy in memory of a lesson that is not live (its log changed, or is gone)."""
        lesson = self._lessons.get(lesson_id)
        if lesson is not None and lesson.status != "live":
            del self._lessons[lesson_id]

    def held(self, lesson_id: str) -> Lesson | None:
        """The lesson if it is in memory here (loaded, not on its way)."""
        return self._lessons.get(lesson_id)

    def loaded(self) -> list[Lesson]:
        return list(self._lessons.values())

    async def run(self, lesson_id: str, actor: Actor, command: c.Command) -> Outcome:
        """Execute a command here; returns once its events are stored and published."""
        lesson = await self.get(lesson_id)
        try:
            self.eventlog.check_room()
        except OutboxFull:
            raise Refused(
                "log-unavailable", "The server cannot store events right now; try again soon."
            ) from None
        if isinstance(command, c.AnswerPoll):
            command = replace(command, voter_tag=self._voter_tag(lesson_id, command, actor))
        outcome = lesson.execute(actor, command, self.clock())
        await self.eventlog.append(lesson_id, outcome.records)
        if outcome.records:
            await self._after_stored(lesson, outcome.records)
        return outcome

    def _voter_tag(self, lesson_id: str, command: c.AnswerPoll, actor: Actor) -> str:
        """Set here, in the process that holds the lesson and its sealed ballot boxes."""
        key = self._ballot_keys.setdefault((lesson_id, command.poll_id), secrets.token_bytes(32))
        mac = hmac.new(key, actor.participant_id.encode(), hashlib.sha256)
        return mac.hexdigest()[:22]

    async def _after_stored(self, lesson: Lesson, records: tuple[Record, ...]) -> None:
        await self._sync_directory(lesson, records)
        await self.bus.stored(lesson, records)

    async def _sync_directory(self, lesson: Lesson, records: tuple[Record, ...]) -> None:
        kinds = {type(r.event).__name__ for r in records}
        info = None
        if kinds & {"LessonStarted", "LessonEnded"}:
            info = await self.directory.get(LessonInfo, lesson.id)
            if info is not None:
                await self.directory.put(_with_status(info, lesson))
        if "LessonEnded" in kinds and info is not None:
            await self.directory.forget_code(info)  # an ended lesson admits no more guests
        if "LessonEnded" in kinds and self.retention_days:
            # Reports are computed from the log, so the log lives as long as the school says
            # (lessons/retention.py then removes the lesson's record too).
            await self.eventlog.expire(lesson.id, self.retention_days * 86400)

    # -- the alive marks: since when a live lesson ran, for the gap of a restart -----------

    async def mark_alive(self, lessons: list[Lesson]) -> None:
        """These lessons run here now (a restart's gap starts at the last mark)."""
        live = [lesson.id for lesson in lessons if lesson.status == "live"]
        await self.eventlog.alive.mark(live, self.clock())


def _replay(lesson: Lesson, records: list[Record]) -> None:
    for record in records:
        lesson.apply(record)


def _with_status(info: LessonInfo, lesson: Lesson) -> LessonInfo:
    return replace(
        info, status=lesson.status, started_ms=lesson.started_ms, ended_ms=lesson.ended_ms
    )
