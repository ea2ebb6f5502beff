"""A feed: one slot as one subscriber gets it, one layer, starting at a keyframe, bounded."""

from __future__ import annotations

import asyncio
import collections
import random
import time
from collections.abc import Callable
from typing import Any

import av
from aiortc import MediaStreamError, MediaStreamTrack, RTCRtpSender

from media.layers import Layer, Selector
from media.rtp import CLOCK_RATES, Timeline, vp8_descriptor
from media.slot import Frame, Slot
from media.source import Source
from patches.aiortc.sender import SendParameters, sent_packets
from patches.aiortc.writer import RtpWriter

SENDER_QUEUE_FRAMES = {"audio": 25, "video": 30}  # about 0.5 s / 1 s of media
BACKLOG_BYTES = 256 * 1024
# The subscriber's budget (media/adapter.py): bytes sent, and may this retransmission go.
Budget = tuple[Callable[[int], None], Callable[[int, float], bool]]


class FeedTrack(MediaStreamTrack):
    """What aiortc's sender reads: frames queued by the sender egress, otherwise nothing."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.queue: collections.deque[av.Packet[Any]] = collections.deque()
        self.alive = True  # False from a flush until the sender comes back for more
        self._reading = False
        self._ready = asyncio.Event()

    def put(self, packet: av.Packet[Any]) -> None:
        self.queue.append(packet)
        self._ready.set()

    def flush(self) -> int:
        dropped = len(self.queue)
        self.queue.clear()
        self.alive = self._reading
        return dropped

    async def recv(self) -> av.Packet[Any]:
        self.alive = self._reading = True
        try:
            while not self.queue:
                if self.readyState != "live":
                    raise MediaStreamError
                self._ready.clear()
                await self._ready.wait()
        finally:
            self._reading = False
        return self.queue.popleft()

    def stop(self) -> None:
        super().stop()
        self._ready.set()


class Feed:
    """One slot as one subscriber gets it: starts at a keyframe, one layer, bounded, counted.

    The subscriber sees one continuous stream whatever layer is forwarded: the same SSRC and
    sequence numbers (the writer's), timestamps continued across a switch of source (its own
    timeline), and its own VP8 picture ids and TL0PICIDX, counted over the frames it sends.
    """

    def __init__(self, slot: Slot, sender: RTCRtpSender, track: FeedTrack, who: str) -> None:
        self.slot, self.sender, self.track, self.who = slot, sender, track, who
        self.writer: RtpWriter | None = None
        self.started = self.wanted = self.congested = False
        self.waiting_key = slot.spec.media == "video"
        self.frames = self.keyframes_waited = self.overflows = self.dropped = 0
        self.skipped = self.switches = self.plis = 0  # frames of other layers; layer changes
        self.selector = Selector()
        self.timeline = Timeline(CLOCK_RATES[slot.spec.media])
        self._source: Source | None = None
        self._picture_id = random.getrandbits(15)
        self._tl0 = random.getrandbits(8)
        self._sender_bytes = 0
        self.budget: Budget | None = None

    @property
    def active(self) -> bool:
        return self in self.slot.feeds

    @property
    def layer(self) -> Layer:
        """The layer forwarded now."""
        return self.selector.current

    @property
    def target(self) -> Layer:
        """The layer chosen last: forwarded from its next keyframe (or frame, in time)."""
        return self.selector.target

    @property
    def bytes_sent(self) -> int:
        """Bytes sent to the subscriber (RTP and retransmissions, without UDP/IP headers)."""
        return self.writer.bytes_sent if self.writer else self._sender_bytes

    def choose(self, layer: Layer) -> None:
        """Forward `layer` from now on, in space at its next keyframe (asked for now)."""
        if layer == self.selector.target:
            return
        self.selector.target = layer
        if self.slot.goal(layer.spatial) != self.layer.spatial and self.active:
            self.slot.ask_keyframe(layer.spatial, "switch", self.who)

    def start(self, params: SendParameters) -> None:
        if self.slot.egress == "direct":
            self.writer = RtpWriter(self.sender, params, *(self.budget or ()))
        self.started = True
        self.want(self.wanted)

    def want(self, wanted: bool) -> None:
        self.wanted = wanted
        if self.started and wanted and not self.active:
            self.slot.feeds.add(self)
            self.slot.budget.grant(self.who, time.monotonic())
            self.await_keyframe()
        elif not (self.started and wanted) and self.active:
            self.slot.feeds.discard(self)
            self.dropped += self.track.flush()

    def await_keyframe(self, reason: str = "join") -> None:
        """Forward nothing until a keyframe (of either quality: the first to come)."""
        if self.slot.spec.media == "video":
            self.keyframes_waited += 1
            self.waiting_key = True
            self.slot.ask_keyframe(self.target.spatial, reason, self.who)

    def keyframe_requested(self) -> None:
        """The subscriber's PLI/FIR: ask for one, within its budget, and go on forwarding
        (a request may be spurious, and the budget may make the keyframe wait)."""
        self.plis += 1
        if self.active:
            self.slot.ask_keyframe(self.target.spatial, "pli", self.who)

    def push(self, frame: Frame) -> bool:
        """Forward a frame; True if this feed could use a keyframe of its target now."""
        selector, spatial = self.selector, frame.source.spatial
        goal = self.slot.goal(selector.target.spatial)
        if self.waiting_key:
            if not (frame.keyframe and selector.may_start(spatial, goal)):
                self.dropped += 1
                return not self._congested()  # asking while congested would only waste one
            selector.start(spatial)
        else:
            temporal = frame.temporal
            tid, sync = (temporal.tid, temporal.sync) if temporal else (None, False)
            if not selector.accepts(spatial, frame.keyframe, tid, sync, goal):
                self.skipped += 1
                return goal != selector.current.spatial
        if not self._send(frame):
            self._overflow()
            return False
        self.waiting_key = self.congested = False
        self.frames += 1
        return False

    def _send(self, frame: Frame) -> bool:
        if frame.source is not self._source:
            self.switches += self._source is not None
            self._source = frame.source
            self.timeline.new_source()
        if self.writer is not None:
            timestamp = self.timeline.map(frame.timestamp, frame.arrival)
            heads = self._descriptors(frame) if self.slot.spec.media == "video" else (b"", b"")
            return self.writer.write(frame.payloads, timestamp, frame.ntp, BACKLOG_BYTES, heads)
        if frame.packet is None or self._congested():
            return False
        self.track.put(frame.packet)
        self._sender_bytes += frame.packet.size
        return True

    def _descriptors(self, frame: Frame) -> tuple[bytes, bytes]:
        """This subscriber's VP8 descriptors for the frame: its next picture id and TL0PICIDX."""
        self._picture_id = (self._picture_id + 1) & 0x7FFF
        temporal = frame.temporal
        if temporal is not None and temporal.tid == 0:
            self._tl0 = (self._tl0 + 1) & 0xFF
        return (
            vp8_descriptor(self._picture_id, True, temporal, self._tl0),
            vp8_descriptor(self._picture_id, False, temporal, self._tl0),
        )

    def _overflow(self) -> None:
        """Flush what is queued and restart at a keyframe once the subscriber keeps up."""
        self.overflows += not self.congested
        self.congested = True
        self.dropped += 1 + self.track.flush()
        self.waiting_key = self.slot.spec.media == "video"

    def _congested(self) -> bool:
        if self.writer is not None:
            return self.writer.congested(BACKLOG_BYTES)
        track = self.track
        return not track.alive or len(track.queue) >= SENDER_QUEUE_FRAMES[self.slot.spec.media]

    def report(self) -> dict[str, Any]:
        packets = self.writer.packets if self.writer else sent_packets(self.sender)
        return {
            "mid": self.slot.spec.mid,
            "active": self.active,
            "source": self.slot.owner if self.active else None,
            "frames": self.frames,
            "packets": packets,
            "bytes": self.bytes_sent,
            "retransmits": self.writer.retransmits if self.writer else None,
            "retransmits_skipped": self.writer.retransmits_skipped if self.writer else None,
            "keyframes_waited": self.keyframes_waited,
            "waiting_keyframe": self.active and self.waiting_key,
            "overflows": self.overflows,
            "dropped": self.dropped,
            "queued": len(self.track.queue),
            "layer": f"{self.layer.spatial}-t{self.layer.temporal}",
            "target": f"{self.target.spatial}-t{self.target.temporal}",
            "skipped": self.skipped,
            "switches": self.switches,
            "plis": self.plis,
        }
