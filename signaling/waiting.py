"""Waiting guests whose connection is gone are taken out of the waiting room after a while.

A guest normally leaves the waiting room when their socket disconnects. Some never get
that: the server restarted while they waited (their place is in the log, their socket is
not), or their socket went away while their `join` was still being stored. Without this
sweep they would wait forever, fill the waiting room and the teacher's list.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from core import commands as c
from core.errors import Refused
from core.lesson import Actor
from lessons.host import LessonHost
from signaling.fanout import Fanout

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (lesson id, participant id)


class WaitingSweep:
    """Every `every_s`, expire waiting guests without a live socket for `expiry_s` seconds."""

    def __init__(
        self,
        live: LessonHost,
        fanout: Fanout,
        connected: Callable[[str], bool],
        expiry_s: float,
        every_s: float = 1.0,
    ) -> None:
        self.live, self.fanout, self.connected = live, fanout, connected
        self.expiry_s, self.every_s = expiry_s, every_s
        self._orphaned: dict[Key, float] = {}  # since when (monotonic) no socket was seen

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.sweep(time.monotonic())
            except Exception:
                log.exception("waiting-room sweep failed; it goes on")

    async def sweep(self, now: float) -> None:
        if not self.live.sees_every_socket:
            return  # a guest's socket may be held by another process: it cannot tell here
        orphans = self._orphans()
        self._orphaned = {key: self._orphaned.get(key, now) for key in orphans}
        for key, since in list(self._orphaned.items()):
            if now - since >= self.expiry_s:
                await self._expire(key, orphans[key])

    def _orphans(self) -> dict[Key, str]:
        """Waiting guests (with their names) of the live lessons here that have no socket."""
        found = {}
        for lesson in self.live.driven():
            if lesson.status != "live":
                continue
            for p in list(lesson.participants.values()):
                if p.presence != "waiting":
                    continue
                sockets = self.fanout.connections(lesson.id, p.id)
                if not any(self.connected(sid) for sid in sockets):
                    found[(lesson.id, p.id)] = p.name
        return found

    async def _expire(self, key: Key, name: str) -> None:
        lesson_id, pid = key
        self._orphaned.pop(key, None)
        try:
            await self.live.run(lesson_id, Actor(pid, "guest", name), c.ConnectionLost())
        except Refused as refused:
            log.warning("could not expire waiting guest %s: %s", pid, refused.code)
