"""A recording's failures and recoveries, from the media worker into the lesson's log.

The worker reports a full disk or a write error (and, later, that it writes again); the
media glue reports a worker that died while recording. Each becomes a command of the server
itself, so the log says when the recording failed and resumed, and the pages are told. A
recording lost with its worker is started again at once on a fresh worker.
"""

from __future__ import annotations

import asyncio
import logging

from core import commands as c
from core.errors import Refused
from core.lesson import SYSTEM
from lessons.host import LessonHost
from media.errors import MediaError
from media.rooms import MediaRooms

log = logging.getLogger(__name__)


class RecordingWatch:
    """Turns the media's news of a lesson's recording into the lesson's events."""

    def __init__(self, media: MediaRooms, live: LessonHost, retry_s: float) -> None:
        self.media, self.live, self.retry_s = media, live, retry_s
        self._tasks: set[asyncio.Task[None]] = set()
        media.on_recording(self._heard)

    def _heard(self, lesson_id: str, state: str, reason: str) -> None:
        task = asyncio.create_task(self._note(lesson_id, state, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
