"""The room's adapting clock: every ADAPT_EVERY_S each subscriber's link chooses its video.

The rungs each subscriber may climb are the layers the publisher sends (media/layers.py),
each costing what it sends now in every video slot the subscriber gets, plus the sound;
smoothed over a few seconds, so that the keyframe a switch asks for does not make a layer
look too dear to switch to. A subscriber that goes down to sound only by
itself, or back, is told to `on_link` (the worker tells the signaling side, which tells the
student's page).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping

from media.ladder import Rung
from media.layers import Layer
from media.slot import Slot
from media.subscriber import Subscriber

LinkCallback = Callable[[str, bool], None]  # participant, down to sound only by itself
ADAPT_EVERY_S = 0.25
COST_SMOOTHING = 0.05  # of each tick's figure: about 5 s


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
        self._costs: dict[tuple[str, Layer], float] = {}  # smoothed bits/s per slot and layer

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
        self._measure()
        for sub in list(self.subscribers.values()):
            if not sub.alive:
                continue
            changed = sub.adapt(now, self.rungs(sub, now))
            if changed is not None and self.on_link is not None:
                self.on_link(sub.pid, changed)

    def _measure(self) -> None:
        seen = set()
        for name, slot in self.slots.items():
            for layer, bps in slot.layer_bitrates().items():
                key = (name, layer)
                seen.add(key)
                old = self._costs.get(key, 0.0)
                # A source starting up (its figure over twice the smoothed one) is followed
                # at once; after that a keyframe's bump is smoothed away.
                pace = 1.0 if bps > 2 * old else COST_SMOOTHING
                self._costs[key] = old + pace * (bps - old)
        for key in set(self._costs) - seen:  # a source gone
            del self._costs[key]

    def rungs(self, sub: Subscriber, now: float) -> list[Rung]:
        """What the subscriber may get, each with its cost: the video and the sound with it."""
        slots = [s for s in self.slots.values() if s.owner not in (None, sub.pid)]
        audio = sum(self._cost(s.spec.name, None) for s in slots if s.spec.media == "audio")
        video = [s for s in slots if s.spec.media == "video"]
        layers = {layer for (name, layer) in self._costs for s in video if s.spec.name == name}
        return [
            Rung(layer, audio + sum(self._cost(s.spec.name, layer) for s in video))
            for layer in layers
        ]

    def _cost(self, slot: str, layer: Layer | None) -> float:
        """A slot's smoothed cost at `layer` (None: all it sends), else at the nearest it has."""
        mine = {lay: bps for (name, lay), bps in self._costs.items() if name == slot}
        if not mine:
            return 0.0
        if layer is None or layer in mine:
            return max(mine.values()) if layer is None else mine[layer]
        same = [bps for lay, bps in mine.items() if lay.temporal == layer.temporal]
        return max(same) if same else max(mine.values())
