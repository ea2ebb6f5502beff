"""A slot: one forwarded track position (teacher's mic…), its current source and its timeline.

Every subscriber's connection has the same five slots (SLOTS), one m-line each, in order;
a publisher's tracks feed the slots of its seat, and each subscriber gets a slot as a Feed.
"""

from __future__ import annotations

import fractions
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import av
from aiortc import RTCRtpReceiver

from media.keyframes import KeyframeRequester
from media.rtp import CLOCK_RATES, Timeline, is_vp8_keyframe, vp8_payloads
from patches.aiortc.ingress import FrameSink
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
    """One encoded frame on its slot's timeline, prepared once for every subscriber."""

    timestamp: int
    keyframe: bool
    payloads: list[bytes]  # RTP payloads (direct egress)
    packet: av.Packet[Any] | None  # for aiortc's own packetizer (sender egress)
    ntp: int


class Slot:
    """One forwarded track position: its current source, its timeline and its live feeds."""

    def __init__(self, spec: SlotSpec, egress: Egress) -> None:
        self.spec, self.egress = spec, egress
        self.owner: str | None = None
        self.receiver: RTCRtpReceiver | None = None
        self.keyframes = KeyframeRequester()
        self.feeds: set[Feed] = set()  # started and wanted
        self.recording: TrackTap | None = None  # the lesson is being recorded
        self.frames_in = self.keyframes_in = self.bytes_in = 0
        self.timeline = Timeline(CLOCK_RATES[spec.media])
        self._time_base = fractions.Fraction(1, self.timeline.clock_rate)
        self._picture_id = random.getrandbits(15)

    def sink_for(self, receiver: RTCRtpReceiver) -> FrameSink:
        """Where the receiver's frames go; ignored unless it is the slot's current source."""

        def sink(data: bytes, timestamp: int) -> None:
            if self.receiver is receiver:
                self._on_frame(data, timestamp)

        return sink

    def attach(self, owner: str, receiver: RTCRtpReceiver) -> None:
        self.owner, self.receiver = owner, receiver
        self.timeline.new_source()
        self.keyframes.receiver = receiver
        if self.recording is not None:
            self.recording.new_source()
        for feed in self.feeds:  # they are mid-stream: restart them at the new keyframe
            feed.await_keyframe()

    def detach(self) -> None:
        self.owner = self.receiver = self.keyframes.receiver = None
        if self.recording is not None:
            self.recording.new_source()

    def report(self) -> dict[str, Any]:
        return {
            "source": self.owner,
            "feeds": len(self.feeds),
            "frames_in": self.frames_in,
            "keyframes_in": self.keyframes_in,
            "bytes_in": self.bytes_in,
            "keyframe_requests": dict(self.keyframes.requests),
            "plis_sent": self.keyframes.sent,
            "retransmits": sum(f.writer.retransmits for f in self.feeds if f.writer),
        }

    def _on_frame(self, data: bytes, timestamp: int) -> None:
        if not data:  # padding only (bandwidth probes): nothing to forward
            return
        keyframe = self.spec.media == "audio" or is_vp8_keyframe(data)
        self.frames_in += 1
        self.bytes_in += len(data)
        self.keyframes_in += keyframe and self.spec.media == "video"
        if self.recording is not None:  # before forwarding: the source's own RTP time
            self.recording.frame(self.owner, data, timestamp, keyframe)
        frame = self._frame(data, self.timeline.map(timestamp, time.monotonic()), keyframe)
        waiting = False
        for feed in self.feeds:
            waiting |= feed.push(frame)
        if waiting and not keyframe:  # a lost request, or a source with no SSRC yet
            self.keyframes.request("waiting")

    def _frame(self, data: bytes, timestamp: int, keyframe: bool) -> Frame:
        if self.egress == "sender":
            packet = av.Packet(data)
            packet.pts = packet.dts = timestamp
            packet.time_base = self._time_base
            return Frame(timestamp, keyframe, [], packet, 0)
        if self.spec.media == "audio":
            return Frame(timestamp, keyframe, [data], None, ntp_time())
        self._picture_id = (self._picture_id + 1) & 0x7FFF
        payloads = vp8_payloads(data, self._picture_id)
        return Frame(timestamp, keyframe, payloads, None, ntp_time())
