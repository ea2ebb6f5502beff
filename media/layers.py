"""Video layers: which quality a feed takes, when it may switch, and what each layer costs.

A publisher may send a slot in two spatial qualities ("high" 640x360, "low" 320x180, each on
its own m-line) and each of them in up to three VP8 temporal layers (TID 0, 1, 2: 7.5, 15,
30 fps). A feed forwards one (spatial, temporal) choice to its subscriber: a spatial switch
waits for a keyframe of the target quality (nothing else can be decoded after the other's
frames), a temporal step down happens at once (frames above a TID are never referenced by
those below), a step up at a keyframe or a layer sync frame. Pure: times are arguments.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Literal, get_args

Spatial = Literal["high", "low"]
SPATIALS: tuple[Spatial, ...] = get_args(Spatial)
MAX_TID = 2
BITRATE_WINDOW_S = 2.0


@dataclass(frozen=True, slots=True)
class Layer:
    """A feed's choice: a spatial quality and the highest temporal layer (TID) forwarded."""

    spatial: Spatial = "high"
    temporal: int = MAX_TID

    def __post_init__(self) -> None:
        if self.spatial not in SPATIALS or not 0 <= self.temporal <= MAX_TID:
            raise ValueError(f"there is no layer {self.spatial!r} T{self.temporal}")


class Selector:
    """One feed's current layer, its target, and the frames that move one to the other."""

    def __init__(self) -> None:
        self.current = Layer()
        self.target = Layer()

    def start(self, spatial: Spatial) -> None:
        """A keyframe of `spatial` (re)starts the feed: take it with the target's frame rate."""
        self.current = Layer(spatial, self.target.temporal)

    @staticmethod
    def may_start(spatial: Spatial, goal: Spatial) -> bool:
        """A feed waiting for a keyframe of `goal` starts on it, or on the low one if first:
        never on a bigger picture than its link was given."""
        return spatial == goal or spatial == "low"

    def accepts(
        self, spatial: Spatial, keyframe: bool, tid: int | None, sync: bool, goal: Spatial
    ) -> bool:
        """Whether to forward a frame of `spatial`; goal: the spatial quality to reach.

        goal is the target's spatial quality when the publisher sends it, else the one it
        does send: a feed never waits for a quality that is not there.
        """
        if spatial != self.current.spatial:
            if keyframe and spatial == goal:
                self.start(spatial)
                return True
            return False
        if tid is None:  # no temporal layers in this stream: every frame or none
            return True
        have, want = self.current.temporal, self.target.temporal
        if want < have:
            have = want
        elif want > have and (keyframe or (sync and have < tid <= want)):
            have = want if keyframe else tid
        if have != self.current.temporal:
            self.current = Layer(spatial, have)
        return tid <= have


class BitrateMeter:
    """Bits per second of one spatial layer, per temporal layer, over the last window."""

    def __init__(self, window: float = BITRATE_WINDOW_S) -> None:
        self.window = window
        self._frames: collections.deque[tuple[float, int, int]] = collections.deque()
        self.temporal = False  # the stream carries TIDs

    def add(self, now: float, size: int, tid: int | None) -> None:
        self.temporal = tid is not None
        self._frames.append((now, size, tid or 0))
        while self._frames[0][0] < now - self.window:
            self._frames.popleft()

    def rates(self, now: float) -> dict[int, int]:
        """TID -> bits/s of the frames up to that TID; {2: all} for a stream without TIDs."""
        per_tid = [0] * (MAX_TID + 1)
        for at, size, tid in self._frames:
            if at >= now - self.window:
                per_tid[min(tid, MAX_TID)] += size
        if not self.temporal:
            return {MAX_TID: round(sum(per_tid) * 8 / self.window)} if self._frames else {}
        total, rates = 0, {}
        for tid, size in enumerate(per_tid):
            total += size
            rates[tid] = round(total * 8 / self.window)
        return rates
