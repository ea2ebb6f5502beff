"""A slot: one forwarded track position (teacher's mic…), its publisher's sources and feeds.

Every subscriber's connection has the same five slots (SLOTS), one m-line each, in order;
a publisher's tracks feed the slots of its seat, and each subscriber gets a slot as a Feed.
"""

from __future__ import annotations

import fractions
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import av
from aiortc import RTCRtpReceiver

from media.keyframes import KeyframeBudget
from media.layers import SPATIALS, Layer, Spatial
from media.rtp import CLOCK_RATES, Temporal, is_vp8_keyframe, vp8_chunks
from media.source import Source
from patches.aiortc.ingress import DescribedSink
from patches.aiortc.sender import ntp_time

if TYPE_CHECKING:
    from media.feed import Feed
    from media.recorder import TrackTap

Kind = Literal["mic", "camera", "screen"]
Mode = Literal["none", "audio", "video"]
Seat = Literal["teacher", "floor"]
Egress = Literal["direct", "sender"]


@dataclass(frozen=True)
class SlotSpec:
    """A fixed position in every subscriber's connection; mid is its m-line in our offer."""

    name: str
    mid: str
    seat: Seat
    kind: Kind
    stream: str  # browser MediaStream id: a seat's mic and camera share one, for lip sync

    @property
    def media(self) -> str:
        return "audio" if self.kind == "mic" else "video"


SLOTS = (
    SlotSpec("teacher-mic", "0", "teacher", "mic", "teacher"),
    SlotSpec("teacher-camera", "1", "teacher", "camera", "teacher"),
    SlotSpec("teacher-screen", "2", "teacher", "screen", "teacher-screen"),
    SlotSpec("floor-mic", "3", "floor", "mic", "floor"),
    SlotSpec("floor-camera", "4", "floor", "camera", "floor"),
)
MODE_KINDS: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "audio": frozenset({"mic"}),
    "video": frozenset({"mic", "camera", "screen"}),
}


@dataclass(slots=True)
class Frame:
    """One encoded frame on its source's timeline, prepared once for every subscriber."""

    timestamp: int
    keyframe: bool
    payloads: list[bytes]  # RTP payloads, video without its descriptor (direct egress)
    packet: av.Packet[Any] | None  # for aiortc's own packetizer (sender egress)
    ntp: int
    source: Source
    temporal: Temporal | None
    arrival: float  # monotonic seconds


class Slot:
    """One forwarded track position: its current publisher, its sources and its live feeds.

    A video slot has a source per spatial quality ("high", and "low" when the publisher
    sends a 320x180 copy); an audio slot has "high" only. Each feed picks one (media/feed.py).
    """

    def __init__(self, spec: SlotSpec, egress: Egress) -> None:
        self.spec, self.egress = spec, egress
        self.owner: str | None = None
        self.budget = KeyframeBudget()
        spatials = SPATIALS if spec.media == "video" else SPATIALS[:1]
        self.sources = {s: Source(s, spec.media, self.budget) for s in spatials}
        self.feeds: set[Feed] = set()  # started and wanted
        self.recording: TrackTap | None = None  # the lesson is being recorded (the high source)
        self._time_base = fractions.Fraction(1, CLOCK_RATES[spec.media])

    def sink_for(self, receiver: RTCRtpReceiver, spatial: Spatial = "high") -> DescribedSink:
        """Where a receiver's frames go; ignored unless it is the source's current receiver."""
        source = self.sources[spatial]

        def sink(data: bytes, timestamp: int, temporal: Temporal | None) -> None:
            if source.receiver is receiver:
                self._on_frame(source, data, timestamp, temporal)

        return sink

    def attach(self, owner: str, receiver: RTCRtpReceiver, spatial: Spatial = "high") -> None:
        self.owner = owner
        self.sources[spatial].attach(receiver)
        if self.recording is not None and spatial == "high":
            self.recording.new_source()
        now = time.monotonic()
        for feed in self.feeds:  # they are mid-stream: restart them at the new keyframe,
            self.budget.grant(feed.who, now)  # which a new source owes everyone
            feed.await_keyframe()

    def detach(self, receiver: RTCRtpReceiver) -> None:
        """The receiver's source stops; with the last one the slot has no publisher."""
        for source in self.sources.values():
            if source.receiver is receiver:
                source.detach()
                if self.recording is not None and source.spatial == "high":
                    self.recording.new_source()
                for feed in self.feeds:
                    if feed.layer.spatial == source.spatial:
                        feed.await_keyframe()
        if not any(source.live for source in self.sources.values()):
            self.owner = None

    def goal(self, spatial: Spatial) -> Spatial:
        """The quality a feed aiming at `spatial` gets: it if sent, else the high one."""
        if self.egress == "sender" or not self.sources[spatial].live:
            return "high"
        return spatial

    def ask_keyframe(self, spatial: Spatial, reason: str, who: str) -> None:
        if self.spec.media == "video":
            self.sources[self.goal(spatial)].keyframes.request(reason, who)

    def layer_bitrates(self) -> dict[Layer, int]:
        """Each layer's bits/s over the last seconds, as the publisher sends it now."""
        now = time.monotonic()
        return {
            Layer(source.spatial, tid): bps
            for source in self.sources.values()
            if source.live
            for tid, bps in source.meter.rates(now).items()
        }

    def report(self) -> dict[str, Any]:
        high = self.sources["high"]
        sources = self.sources.values()
        return {
            "source": self.owner,
            "feeds": len(self.feeds),
            "frames_in": high.frames_in,
            "keyframes_in": high.keyframes_in,
            "bytes_in": sum(s.bytes_in for s in sources),
            "keyframe_requests": dict(sum((s.keyframes.requests for s in sources), Counter())),
            "plis_sent": sum(s.keyframes.sent for s in sources),
            "retransmits": sum(f.writer.retransmits for f in self.feeds if f.writer),
            "layers": {s.spatial: s.report() for s in sources},
            "bitrates": {f"{k.spatial}-t{k.temporal}": v for k, v in self.layer_bitrates().items()},
        }

    def close(self) -> None:
        for source in self.sources.values():
            source.keyframes.close()

    def _on_frame(
        self, source: Source, data: bytes, timestamp: int, temporal: Temporal | None
    ) -> None:
        if not data:  # padding only (bandwidth probes): nothing to forward
            return
        video = self.spec.media == "video"
        keyframe = not video or is_vp8_keyframe(data)
        now = time.monotonic()
        source.count(len(data), keyframe and video, temporal.tid if temporal else None, now)
        if self.recording is not None and source.spatial == "high":
            # before forwarding, on the source's own RTP time; the low copy is not recorded
            self.recording.frame(self.owner, data, timestamp, keyframe)
        if self.egress == "sender" and source.spatial != "high":
            return  # aiortc packetizes one timeline per sender: no switching there
        mapped = source.timeline.map(timestamp, now)
        frame = self._frame(source, data, mapped, keyframe, temporal, now)
        for feed in self.feeds:
            if feed.push(frame):
                self.ask_keyframe(feed.target.spatial, "waiting", feed.who)

    def _frame(
        self,
        source: Source,
        data: bytes,
        timestamp: int,
        keyframe: bool,
        temporal: Temporal | None,
        now: float,
    ) -> Frame:
        if self.egress == "sender":
            packet = av.Packet(data)
            packet.pts = packet.dts = timestamp
            packet.time_base = self._time_base
            return Frame(timestamp, keyframe, [], packet, 0, source, temporal, now)
        payloads = vp8_chunks(data) if self.spec.media == "video" else [data]
        return Frame(timestamp, keyframe, payloads, None, ntp_time(), source, temporal, now)
