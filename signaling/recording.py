"""A recording's failures and recoveries, from the media worker into the lesson's log.

The worker reports a full disk or a write error (and, later, that it writes again); the
media glue reports a worker that died while recording. Each becomes a command of the server
itself, so the log says when the recording failed and resumed, and the pages are told. A
recording lost with its worker is started again at once on a fresh worker, and a lesson
whose log says it is recorded, but whose media this process has not been told to record
(the server restarted), is recorded again from its next event on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from core import commands as c
from core import events as e
from core.errors import Refused
from core.lesson import SYSTEM, Lesson
from lessons.bus import LessonBus
from lessons.host import LessonHost
from media.errors import MediaError
from media.rooms import MediaRooms

log = logging.getLogger(__name__)


class RecordingWatch:
    """Turns the media's news of a lesson's recording into the lesson's events."""

    def __init__(self, bus: LessonBus, media: MediaRooms, live: LessonHost, retry_s: float) -> None:
        self.media, self.live, self.retry_s = media, live, retry_s
        self._tasks: set[asyncio.Task[None]] = set()
        self._ensuring: set[str] = set()
        media.on_recording(self._heard)
        bus.on_stored(self._stored)

    def _heard(self, lesson_id: str, state: str, reason: str) -> None:
        self._spawn(self._note(lesson_id, state, reason))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _stored(self, lesson: Lesson, records: tuple[e.Record, ...]) -> None:
        """Recorded by the log, not by this process's media (a restart): record again."""
        if lesson.status != "live" or lesson.recording != "on":
            return
        if lesson.id in self.media.recording or lesson.id in self._ensuring:
            return
        if any(isinstance(r.event, e.RecordingStarted) for r in records):
            return  # the media glue follows this one itself
        self._ensuring.add(lesson.id)
        self._spawn(self._ensure(lesson.id))

    async def _ensure(self, lesson_id: str) -> None:
        try:
            await self.media.record(lesson_id)
        except MediaError as error:
            log.warning("recording of %s did not start again: %s", lesson_id, error)
            await self._note(lesson_id, "failed", "worker-lost")
        finally:
            self._ensuring.discard(lesson_id)

    async def _note(self, lesson_id: str, state: str, reason: str) -> None:
        command: c.Command = (
            c.StartRecording(resumed=True) if state == "on" else c.FailRecording(reason)
        )
        try:
            await self.live.run(lesson_id, SYSTEM, command)
        except Refused as refused:
            log.warning("recording of %s: %s not noted: %s", lesson_id, state, refused.code)
            return
        if state == "failed" and reason == "worker-lost":
            await self._restart(lesson_id)

    async def _restart(self, lesson_id: str) -> None:
        """Record on a fresh worker, as soon as one runs; the pages publish to it again."""
        while True:
            lesson = await self.live.get(lesson_id)
            if lesson.status != "live" or lesson.recording != "failed":
                return
            try:
                await self.media.record(lesson_id)
            except MediaError as error:
                log.warning("recording of %s cannot restart yet: %s", lesson_id, error)
                await asyncio.sleep(self.retry_s)
                continue
            await self._note(lesson_id, "on", "resumed")
            return

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
