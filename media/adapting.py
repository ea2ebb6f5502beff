"""The room's adapting clock: every ADAPT_EVERY_S each subscriber's link chooses its video.

The rungs each subscriber may climb are made here from what the slots' sources send now
(one rung while the teacher sends one quality); a subscriber that goes down to sound only by
itself, or back, is told to `on_link` (the worker tells the signaling side, which tells the
student's page).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping

from media.ladder import Rung
from media.slot import Slot
from media.subscriber import Subscriber

LinkCallback = Callable[[str, bool], None]  # participant, down to sound only by itself
ADAPT_EVERY_S = 0.25


class Adapting:
    """The periodic choice of every subscriber of a room, started with the first one."""

    def __init__(
        self,
        slots: Mapping[str, Slot],
        subscribers: Mapping[str, Subscriber],
        on_link: LinkCallback | None,
    ) -> None:
        self.slots, self.subscribers, self.on_link = slots, subscribers, on_link
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(ADAPT_EVERY_S)
            self.tick(time.monotonic())

    def tick(self, now: float) -> None:
        for sub in list(self.subscribers.values()):
            if not sub.alive:
                continue
            changed = sub.adapt(now, self.rungs(sub, now))
            if changed is not None and self.on_link is not None:
                self.on_link(sub.pid, changed)

    def rungs(self, sub: Subscriber, now: float) -> list[Rung]:
        """What the subscriber may get, each with its cost: the video and the sound with it.

        The seam for layers: one rung per layer once the teacher sends several qualities.
        """
        slots = [s for s in self.slots.values() if s.owner not in (None, sub.pid)]
        audio = sum(s.rate_in.bps(now) for s in slots if s.spec.media == "audio")
        video = sum(s.rate_in.bps(now) for s in slots if s.spec.media == "video")
        return [Rung("video", video + audio)] if video > 0 else []
