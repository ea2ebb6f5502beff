"""Lessons when several server processes share one Redis: owned here, or mirrored from the log.

The process that owns a lesson (see `store/cluster.py`) runs its commands, timers and
broadcasts, exactly as a lone server does. Every other process keeps a read-only mirror of
the lesson, tailed from the lesson's log, for its own sockets' snapshots and room changes,
and forwards their commands to the owner. When an owner disappears, the next process to need
the lesson takes its lease, catches its mirror up from the log, and records the gap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from core import commands as c
from core.errors import Refused
from core.events import Record
from core.lesson import Actor, Lesson, Outcome
from lessons.host import MediaHandler, Ticker, run_media
from lessons.live import LiveLessons
from store.cluster import Cluster
from store.errors import UNAVAILABLE
from store.tail import LogTail

log = logging.getLogger(__name__)


class ClusterHost:
    """One process among several: runs the lessons it owns, mirrors and forwards the others."""

    sees_every_socket = False  # a guest's socket may be held by another process

    def __init__(
        self,
        lessons: LiveLessons,
        cluster: Cluster,
        tail: LogTail,
        media: MediaHandler | None = None,
    ) -> None:
        self.lessons, self.cluster, self.tail, self._media = lessons, cluster, tail, media
        self._owned: set[str] = set()
        self._ticker = Ticker(self, self._keep)
        self._tailer: asyncio.Task[None] | None = None

    @property
    def clock(self) -> Callable[[], int]:
        return self.lessons.clock

    @clock.setter
    def clock(self, clock: Callable[[], int]) -> None:
        self.lessons.clock = clock

    def start(self) -> None:
        self._ticker.start()
        self.cluster.serve(self._forwarded)
        self._tailer = asyncio.create_task(self._tail_forever(), name="lesson-mirrors")

    async def close(self) -> None:
        if self._tailer is not None:
            self._tailer.cancel()
            await asyncio.gather(self._tailer, return_exceptions=True)
        # The ticker first: a lease renewed after its release would hold the lessons 6 s more.
        await self._ticker.close()
        await self.cluster.release(sorted(self._owned))
        await self.cluster.close()
        await self.tail.close()

    def driven(self) -> list[Lesson]:
        return [lesson for lesson in self.lessons.loaded() if lesson.id in self._owned]

    async def _keep(self) -> None:
        for lost in await self.cluster.renew([lesson.id for lesson in self.driven()]):
            log.warning("lost the lease of lesson %s: mirroring it from now on", lost)
            self._owned.discard(lost)
        await self.lessons.mark_alive(self.driven())

    async def get(self, lesson_id: str) -> Lesson:
        """Ours (a fresh load notes a restart), or a mirror (loaded without a mark)."""
        return await self.lessons.get(lesson_id, note_restart=lesson_id in self._owned)

    async def forget(self, lesson_id: str) -> None:
        await self.lessons.forget(lesson_id)

    async def _owner(self, lesson_id: str) -> str:
        """Who owns the lesson. While Redis cannot be reached (a Sentinel failover), this
        process for the lessons it holds, so their commands wait in the log's outbox and go
        out in order afterwards; the others are refused, to be retried."""
        try:
            return await self.cluster.claim(lesson_id)
        except UNAVAILABLE as exc:
            if lesson_id in self._owned:
                return self.cluster.id
            raise Refused(
                "lesson-unavailable", "The lesson's server is not answering; retry."
            ) from exc

    async def run(self, lesson_id: str, actor: Actor, command: c.Command) -> Outcome:
        owner = await self._owner(lesson_id)
        if owner == self.cluster.id:
            await self._take(lesson_id)
            return await self.lessons.run(lesson_id, actor, command)
        request = {"lesson": lesson_id, "actor": asdict(actor),
                   "command": c.command_to_dict(command)}  # fmt: skip
        result = await self.cluster.call(owner, request)
        try:
            await self._catch_up(await self.get(lesson_id))  # our mirror shows what it did
        except UNAVAILABLE as exc:  # the owner did it and stored it: the tail catches up later
            log.warning("mirror of lesson %s not caught up now: %s", lesson_id, exc)
        return Outcome((), result)

    async def media(self, lesson_id: str, actor: Actor, event: str, data: dict[str, Any]) -> Any:
        """Media lives with the lesson's owner: run the request there, here or forwarded."""
        owner = await self._owner(lesson_id)
        if owner != self.cluster.id:
            request = {"lesson": lesson_id, "actor": asdict(actor),
                       "media": event, "data": data}  # fmt: skip
            return await self.cluster.call(owner, request)
        await self._take(lesson_id)
        return await run_media(self._media, await self.get(lesson_id), actor, event, data)

    async def adopt(self, lesson_id: str) -> None:
        """A live lesson whose owner is gone (or never was) is taken; another's is left alone."""
        if await self.cluster.claim(lesson_id) == self.cluster.id:
            await self._take(lesson_id)

    async def _forwarded(self, request: dict[str, Any]) -> Any:
        lesson_id = str(request["lesson"])
        if await self._owner(lesson_id) != self.cluster.id:
            raise Refused("lesson-unavailable", "The lesson moved to another server; retry.")
        await self._take(lesson_id)
        actor = Actor(**request["actor"])
        if "media" in request:
            lesson = await self.get(lesson_id)
            return await run_media(self._media, lesson, actor, request["media"], request["data"])
        command = c.command_from_dict(request["command"])
        outcome = await self.lessons.run(lesson_id, actor, command)
        return outcome.result

    async def _take(self, lesson_id: str) -> None:
        """Become the lesson's owner: load it, or catch the mirror up and note the gap."""
        if lesson_id in self._owned:
            return
        mirror = self.lessons.held(lesson_id)
        if mirror is None:
            self._owned.add(lesson_id)
            await self.lessons.get(lesson_id)  # a fresh load notes a restart by itself
            return
        await self._catch_up(mirror)
        down_since = self.clock() if mirror.status == "live" else None
        self._owned.add(lesson_id)  # from here to the mark, nothing awaited (note_restart)
        log.info("took over lesson %s at seq %d", lesson_id, mirror.seq)
        await self.lessons.note_restart(mirror, down_since)

    # -- the mirrors: other processes' lessons, tailed from their logs ----------------------

    async def _catch_up(self, lesson: Lesson) -> None:
        for record in await self.lessons.eventlog.read(lesson.id, after_seq=lesson.seq):
            await self._mirror_record(lesson, record)

    async def _mirror_record(self, lesson: Lesson, record: Record) -> None:
        if lesson.id in self._owned or record.seq != lesson.seq + 1:
            return  # the owner applies its own; a record seen twice is applied once
        lesson.apply(record)
        await self.lessons.bus.mirrored(lesson, (record,))

    async def _tail_forever(self) -> None:
        while True:
            mirrors = {m.id: m for m in self.lessons.loaded() if m.id not in self._owned}
            if not mirrors:
                await asyncio.sleep(0.2)
                continue
            try:
                await self._tail_once(mirrors)
            except UNAVAILABLE as exc:
                log.warning("tailing lesson logs failed: %s", exc)
                await asyncio.sleep(1)

    async def _tail_once(self, mirrors: dict[str, Lesson]) -> None:
        after = {lesson_id: m.seq for lesson_id, m in mirrors.items()}
        for lesson_id, record in await self.tail.read(after):
            await self._mirror_record(mirrors[lesson_id], record)
