"""Retention that runs: live lessons nobody runs are taken in hand, old lessons and audit go.

Every `SWEEP_S` the sweep looks at every lesson record: a lesson still marked live but held
by no process (the server restarted after its teacher closed the tab) is loaded, so that its
timers, and the automatic end of `[lesson] auto_end_*`, apply to it; a lesson ended more than
`[attendance] retention_days` ago is deleted with its log (and its recording); audit entries
that old are trimmed; a recording is deleted `[recording] keep_days` after its lesson ended.
Every `DECK_SWEEP_MS` (and at start) slide decks no kept lesson showed go (lessons/decks.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.errors import Refused
from lessons.datarights import DataRights
from lessons.decks import Decks
from lessons.host import LessonHost
from store.audit import Audit
from store.directory import LessonInfo

log = logging.getLogger(__name__)

SWEEP_S = 60.0
DAY_MS = 86_400_000
DECK_SWEEP_MS = 3_600_000  # it reads every kept lesson's log once (then only live ones)


class Retention:
    """The periodic sweep; `sweep` is also called directly (tests, an operator's script)."""

    def __init__(
        self,
        rights: DataRights,
        live: LessonHost,
        audit: Audit,
        retention_days: int,
        recording_keep_days: int = 0,
        decks: Decks | None = None,
    ) -> None:
        self.rights, self.live, self.audit, self.decks = rights, live, audit, decks
        self._decks_swept_ms = -DECK_SWEEP_MS  # at start first
        self.retention_ms = retention_days * DAY_MS
        self.recording_ms = recording_keep_days * DAY_MS
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._compacted_ms = live.clock()  # Redis rewrites its file at start by itself

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever(), name="retention")

    async def close(self) -> None:
        self._stop.set()  # a cancel swallowed inside a Redis call must not keep it running
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _forever(self) -> None:
        while not self._stop.is_set():  # at start first: lessons abandoned while down
            try:
                await self.sweep()
            except Exception:
                log.exception("retention sweep failed; it runs again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), SWEEP_S)

    async def sweep(self) -> None:
        now = self.live.clock()
        for info in await self.rights.directory.all(LessonInfo):
            try:
                await self._one(info, now)
            except Refused as refused:
                log.warning("retention of lesson %s: %s", info.id, refused.code)
        if self.retention_ms:
            await self.audit.trim(now - self.retention_ms)
        if now - self._compacted_ms >= DAY_MS:
            # Deleted chat messages and expired logs leave the append-only file within a day.
            self._compacted_ms = now
            await self.rights.compact()
        if self.decks is not None and now - self._decks_swept_ms >= DECK_SWEEP_MS:
            self._decks_swept_ms = now  # after the lessons: the decks of those just deleted go
            await self.decks.sweep(now)

    async def _one(self, info: LessonInfo, now: int) -> None:
        if info.status == "live":
            await self.live.adopt(info.id)
            return
        if self.retention_ms and info.ended_ms and now - info.ended_ms >= self.retention_ms:
            log.info("lesson %s ended more than the retention period ago: deleted", info.id)
            await self.rights.delete_lesson(info)
        elif self.recording_ms and info.ended_ms and now - info.ended_ms >= self.recording_ms:
            # Its own period: a recording may go long before the attendance it explains.
            await asyncio.to_thread(self.rights.delete_recording, info.id)
