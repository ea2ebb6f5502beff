"""A feed: one slot as one subscriber gets it, starting at a keyframe, bounded, counted."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any

import av
from aiortc import MediaStreamError, MediaStreamTrack, RTCRtpSender

from media.slot import Frame, Slot
from patches.aiortc.sender import SendParameters, sent_packets
from patches.aiortc.writer import RtpWriter

SENDER_QUEUE_FRAMES = {"audio": 25, "video": 30}  # about 0.5 s / 1 s of media
BACKLOG_BYTES = 256 * 1024
# The subscriber's budget: bytes sent, may this retransmission go, may we ask for a keyframe.
Budget = tuple[Callable[[int], None], Callable[[int, float], bool], Callable[[], bool]]


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
    """One slot as one subscriber gets it: starts at a keyframe, bounded, counted."""

    def __init__(self, slot: Slot, sender: RTCRtpSender, track: FeedTrack) -> None:
        self.slot, self.sender, self.track = slot, sender, track
        self.writer: RtpWriter | None = None
        self.started = self.wanted = self.congested = False
        self.waiting_key = slot.spec.media == "video"
        self.frames = self.keyframes_waited = self.overflows = self.dropped = 0
        self.budget: Budget | None = None

    @property
    def active(self) -> bool:
        return self in self.slot.feeds

    def start(self, params: SendParameters) -> None:
        if self.slot.egress == "direct":
            budget = self.budget[:2] if self.budget else ()
            self.writer = RtpWriter(self.sender, params, *budget)
        self.started = True
        self.want(self.wanted)

    def want(self, wanted: bool) -> None:
        self.wanted = wanted
        if self.started and wanted and not self.active:
            self.slot.feeds.add(self)
            self.await_keyframe()
        elif not (self.started and wanted) and self.active:
            self.slot.feeds.discard(self)
            self.dropped += self.track.flush()

    def await_keyframe(self) -> None:
        if self.slot.spec.media == "video":
            self.waiting_key = True
            self.keyframes_waited += 1
            self.slot.keyframes.request("join")

    def push(self, frame: Frame) -> bool:
        """Forward a frame; True if this feed could use a keyframe now."""
        if self.waiting_key and not frame.keyframe:
            self.dropped += 1
            # Asking while congested would only waste one; and each student has an allowance.
            return not self._congested() and (self.budget is None or self.budget[2]())
        if not self._send(frame):
            self._overflow()
            return False
        self.waiting_key = self.congested = False
        self.frames += 1
        return False

    def _send(self, frame: Frame) -> bool:
        if self.writer is not None:
            return self.writer.write(frame.payloads, frame.timestamp, frame.ntp, BACKLOG_BYTES)
        if frame.packet is None or self._congested():
            return False
        self.track.put(frame.packet)
        return True

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
            "retransmits": self.writer.retransmits if self.writer else None,
            "retransmits_skipped": self.writer.retransmits_skipped if self.writer else None,
            "keyframes_waited": self.keyframes_waited,
            "waiting_keyframe": self.active and self.waiting_key,
            "overflows": self.overflows,
            "dropped": self.dropped,
            "queued": len(self.track.queue),
        }
