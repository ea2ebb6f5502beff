"""After a restart or a takeover, everyone still connected here is present again at once.

A restart's mark (`ServerRestarted`) turns everyone who was present into a server gap. The
sockets that stayed connected to this process (the lesson was taken over by it, or is
mirrored here from the process that took it) need not wait for their pages to notice: their
learners join again as soon as the mark is heard on the bus, stored here or mirrored.
"""

from __future__ import annotations

import asyncio
import logging

from core import commands as c
from core import events as e
from core.errors import Refused
from core.lesson import Lesson
from lessons.bus import LessonBus
from lessons.host import LessonHost
from signaling.identity import Session

log = logging.getLogger(__name__)


class Rejoin:
    """Listens for restart marks; joins again the learners of this process's sockets."""

    def __init__(self, bus: LessonBus, live: LessonHost, sessions: dict[str, Session]) -> None:
        self.live, self.sessions = live, sessions  # the namespace's own, kept up to date there
        self._tasks: set[asyncio.Task[None]] = set()
        bus.on_stored(self._heard)
        bus.on_mirrored(self._heard)

    async def _heard(self, lesson: Lesson, records: tuple[e.Record, ...]) -> None:
        if any(isinstance(r.event, e.ServerRestarted) for r in records):
            task = asyncio.create_task(self.rejoin_connected(lesson.id))
            self._tasks.add(task)  # in the background: the command that noted it goes on
            task.add_done_callback(self._tasks.discard)

    async def rejoin_connected(self, lesson_id: str) -> None:
        for session in list(self.sessions.values()):
            if session.lesson_id != lesson_id:
                continue
            device = session.actor.participant_id  # learners added to a phone stay on it
            for actor in list(session.learners.values()):
                try:
                    await self.live.run(lesson_id, actor, c.Join(device=device))
                except Refused as refused:
                    log.warning("could not rejoin %s: %s", actor, refused.code)
