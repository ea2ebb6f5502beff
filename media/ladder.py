"""Which video a subscriber gets: a rung of the ladder of layers, or sound only (pure).

The ladder is an input: the video rungs in rising bitrate, each with what it costs (media
plus sound). Down is at once: the estimate under the current rung's cost moves to the best
rung it covers, or to sound only. Up is one rung at a time, after the estimate has stayed
above the next rung's cost * HEADROOM for PROBE_S. Sound only is left differently: without
video nothing shows spare capacity (we send no padding probes), so once the reports have
been clean for PROBE_S the video is tried again. A try that falls back within FAILED_S
doubles the wait for the next one (up to MAX_BACKOFF times); a rung held for STEADY_S
resets it. The student's own mode is a ceiling: nothing above it is ever chosen.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from media.estimate import GROW_BELOW

SOUND_ONLY = -1
HEADROOM = 1.2
PROBE_S = 3.0
FAILED_S = 10.0
STEADY_S = 30.0
MAX_BACKOFF = 8


@dataclass(frozen=True)
class Rung:
    """One video choice and its cost in bits/s (its media plus the sound)."""

    layer: Hashable
    bps: float


class Ladder:
    """A subscriber's place on the ladder, moved by the estimate and capped by its ceiling."""

    def __init__(self, rungs: Sequence[Rung] = ()) -> None:
        self.rungs: tuple[Rung, ...] = tuple(sorted(rungs, key=lambda r: r.bps))
        self.index = len(self.rungs) - 1  # the best first: a good link never waits
        self.limit: int | None = None  # the student's ceiling; None: the top rung
        self.backoff = 1
        self.downs = self.ups = 0
        self._since = 0.0  # when the current rung was taken
        self._above_since: float | None = None

    @property
    def sound_only(self) -> bool:
        """Automatically down to the sound (not the student's choice)."""
        return self.rungs != () and self.index == SOUND_ONLY and self.ceiling != SOUND_ONLY

    @property
    def ceiling(self) -> int:
        top = len(self.rungs) - 1
        return top if self.limit is None else min(self.limit, top)

    @property
    def layer(self) -> Hashable | None:
        return self.rungs[self.index].layer if self.index >= 0 else None

    def set_rungs(self, rungs: Sequence[Rung]) -> None:
        """New costs (measured as they go); the place keeps its layer if it still exists."""
        layer, was_empty = self.layer, not self.rungs
        self.rungs = tuple(sorted(rungs, key=lambda r: r.bps))
        layers = [r.layer for r in self.rungs]
        if was_empty and self.index == SOUND_ONLY:  # video appears: start at the best
            self.index = len(self.rungs) - 1
        if layer in layers:
            self.index = layers.index(layer)
        self.index = min(self.index, self.ceiling)

    def cap(self, now: float, ceiling: int | None) -> None:
        """The student's choice: at most rung `ceiling` (SOUND_ONLY: no video; None: any)."""
        self.limit = ceiling
        if self.index > self.ceiling:
            self._move(now, self.ceiling)

    def retry(self, now: float) -> None:
        """The student asked for video again: the best rung under the ceiling, no backoff."""
        self.limit = None
        self.backoff = 1
        self._above_since = None
        self._move(now, self.ceiling)

    def choose(self, now: float, estimate_bps: float, loss: float) -> int:
        """The rung for now (SOUND_ONLY: none), given the estimate and the latest loss."""
        if not self.rungs:
            return SOUND_ONLY
        if self.index >= 0 and estimate_bps < self.rungs[self.index].bps:
            self._down(now, estimate_bps)
        elif self.index < self.ceiling:
            self._maybe_up(now, estimate_bps, loss)
        if self.backoff > 1 and self.index >= 0 and now - self._since >= STEADY_S:
            self.backoff = 1
        return self.index

    def _down(self, now: float, estimate_bps: float) -> None:
        fits = [i for i, r in enumerate(self.rungs) if r.bps <= estimate_bps]
        target = min(fits[-1] if fits else SOUND_ONLY, self.ceiling)
        if now - self._since < FAILED_S and self._went_up:
            self.backoff = min(MAX_BACKOFF, self.backoff * 2)
        self.downs += 1
        self._move(now, target)

    def _maybe_up(self, now: float, estimate_bps: float, loss: float) -> None:
        nxt = self.index + 1
        ready = (
            loss < GROW_BELOW
            if self.index == SOUND_ONLY
            else estimate_bps >= self.rungs[nxt].bps * HEADROOM
        )
        if not ready:
            self._above_since = None
            return
        if self._above_since is None:
            self._above_since = now
        if now - self._above_since >= PROBE_S * self.backoff:
            self.ups += 1
            self._move(now, nxt)
            self._went_up = True

    def _move(self, now: float, index: int) -> None:
        self.index, self._since = index, now
        self._above_since = None
        self._went_up = False

    _went_up = False

    def wait_s(self) -> float:
        """How long the next step up waits once the link is ready (for reports)."""
        return PROBE_S * self.backoff if self.index < self.ceiling else math.inf
