"""Where lessons run: one interface, a lone process's host, and the timers every host keeps.

The sockets, REST and the sweeps talk to a `LessonHost` and never ask which kind it is. A
lone process runs every lesson itself (`LocalHost`, here); a process among several runs the
lessons it owns and forwards the rest (`ClusterHost`, lessons/clustered.py). Both compose
the same `LiveLessons` (lessons/live.py), which runs a lesson in memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from core import commands as c
from core.errors import Refused
from core.lesson import SYSTEM, Actor, Lesson, Outcome
from lessons.live import LiveLessons

log = logging.getLogger(__name__)

TICK_S = 0.5  # how often due work (check deadlines, grace expiry) is looked at
ALIVE_EVERY_S = 2.0  # how often a live lesson's "server alive" mark (and lease) is renewed

# Runs a media request for a lesson held here (media/rooms.py: MediaRooms.handle).
MediaHandler = Callable[[Lesson, Actor, str, dict[str, Any]], Awaitable[Any]]


class LessonHost(Protocol):
    """What the rest of the server asks of the place where lessons run."""

    clock: Callable[[], int]

    @property
    def sees_every_socket(self) -> bool:
        """True when every socket of the lessons it drives is connected to this process."""

    def start(self) -> None: ...

    async def close(self) -> None: ...

    async def get(self, lesson_id: str) -> Lesson:
        """The lesson as this process knows it (run here, or mirrored from its log)."""

    async def run(self, lesson_id: str, actor: Actor, command: c.Command) -> Outcome:
        """Execute a command wherever the lesson runs; returns once its events are stored."""

    async def media(self, lesson_id: str, actor: Actor, event: str, data: dict[str, Any]) -> Any:
        """Run a media request where the lesson's media is forwarded."""

    async def adopt(self, lesson_id: str) -> None:
        """Take in hand a live lesson nobody runs (the server restarted): its timers run here."""

    async def forget(self, lesson_id: str) -> None:
        """Drop the copy in memory of a lesson that is not live (its log changed, or is gone)."""

    def driven(self) -> list[Lesson]:
        """The lessons whose timers and alive marks this process keeps."""


class Ticker:
    """Every TICK_S, a host's due work; every ALIVE_EVERY_S, its `keep` (alive marks, leases)."""

    def __init__(self, host: LessonHost, keep: Callable[[], Awaitable[None]]) -> None:
        self.host, self.keep = host, keep
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever(), name="lesson-ticker")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _forever(self) -> None:
        last_alive = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self.tick()
                if time.monotonic() - last_alive >= ALIVE_EVERY_S:
                    last_alive = time.monotonic()
                    await self.keep()
            except Exception:
                log.exception("lesson ticker failed; it goes on")

    async def tick(self) -> None:
        """Run whatever the lessons say is due by now (as the server, not as a person)."""
        for lesson in self.host.driven():
            for command in lesson.due(self.host.clock()):
                try:
                    await self.host.run(lesson.id, SYSTEM, command)
                except Refused as refused:
                    log.warning("due %s in %s refused: %s", command, lesson.id, refused.code)


async def run_media(
    handler: MediaHandler | None, lesson: Lesson, actor: Actor, event: str, data: dict[str, Any]
) -> Any:
    """A media request for a lesson held here, or refused by a host that forwards no media."""
    if handler is None:
        raise Refused("media-unavailable", "This server does not forward media.")
    return await handler(lesson, actor, event, data)


class LocalHost:
    """A lone process: every lesson runs here, and every socket of a lesson is here."""

    sees_every_socket = True

    def __init__(self, lessons: LiveLessons, media: MediaHandler | None = None) -> None:
        self.lessons, self._media = lessons, media
        self._ticker = Ticker(self, self._keep)

    @property
    def clock(self) -> Callable[[], int]:
        return self.lessons.clock

    @clock.setter
    def clock(self, clock: Callable[[], int]) -> None:
        self.lessons.clock = clock

    def start(self) -> None:
        self._ticker.start()

    async def close(self) -> None:
        await self._ticker.close()

    async def get(self, lesson_id: str) -> Lesson:
        return await self.lessons.get(lesson_id)

    async def run(self, lesson_id: str, actor: Actor, command: c.Command) -> Outcome:
        return await self.lessons.run(lesson_id, actor, command)

    async def media(self, lesson_id: str, actor: Actor, event: str, data: dict[str, Any]) -> Any:
        return await run_media(self._media, await self.get(lesson_id), actor, event, data)

    async def adopt(self, lesson_id: str) -> None:
        if self.lessons.held(lesson_id) is None:
            await self.lessons.get(lesson_id)

    async def forget(self, lesson_id: str) -> None:
        await self.lessons.forget(lesson_id)

    def driven(self) -> list[Lesson]:
        return self.lessons.loaded()

    async def _keep(self) -> None:
        await self.lessons.mark_alive(self.driven())
