"""A source: one quality of a slot as its publisher sends it (its receiver, timeline, rate)."""

from __future__ import annotations

from typing import Any

from aiortc import RTCRtpReceiver

from media.keyframes import KeyframeBudget, KeyframeRequester
from media.layers import BitrateMeter, Spatial
from media.rtp import CLOCK_RATES, Timeline


class Source:
    """One spatial quality of a slot: its receiver, its timeline, its keyframes and bitrate.

    The timeline and counters outlive a publisher: the next one continues them.
    """

    def __init__(self, spatial: Spatial, media: str, budget: KeyframeBudget) -> None:
        self.spatial = spatial
        self.receiver: RTCRtpReceiver | None = None
        self.timeline = Timeline(CLOCK_RATES[media])
        self.keyframes = KeyframeRequester(budget)
        self.meter = BitrateMeter()
        self.frames_in = self.keyframes_in = self.bytes_in = 0

    @property
    def live(self) -> bool:
        return self.receiver is not None

    def attach(self, receiver: RTCRtpReceiver) -> None:
        self.receiver = self.keyframes.receiver = receiver
        self.timeline.new_source()
        self.keyframes.resume()

    def detach(self) -> None:
        self.receiver = self.keyframes.receiver = None

    def count(self, size: int, keyframe: bool, tid: int | None, now: float) -> None:
        """One video frame in (audio frames are counted, not metered)."""
        self.frames_in += 1
        self.bytes_in += size
        self.keyframes_in += keyframe
        self.meter.add(now, size, tid)
        if keyframe:
            self.keyframes.arrived()

    def report(self) -> dict[str, Any]:
        return {
            "live": self.live,
            "frames_in": self.frames_in,
            "keyframes_in": self.keyframes_in,
            "bytes_in": self.bytes_in,
            "keyframe_requests": dict(self.keyframes.requests),
            "keyframes_forced": self.keyframes.sent,
        }
