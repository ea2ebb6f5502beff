"""A subscriber: a participant's reception, its mode, its connection and one feed per slot.

Its Adapter (media/adapter.py) hears the RTCP feedback of all its feeds and every byte they
send, and on each tick of the room chooses what video its link carries: down to sound only
by itself, and back when the link recovers. The student's mode is the ceiling.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCPeerConnection

from media import offer
from media.adapter import Adapter
from media.connections import Peer
from media.errors import MediaError
from media.feed import Feed, FeedTrack
from media.ladder import SOUND_ONLY, Rung
from media.layers import Layer
from media.slot import MODE_KINDS, Slot
from patches.aiortc.sender import (
    Feedback,
    on_feedback,
    on_keyframe_request,
    on_sender_started,
    set_stream_id,
)

NACKS_REMEMBERED = 1024  # sequence numbers (the video's, in practice)
SILENT_S = 2.0  # video sent and no RTCP for this long: the link was cut (a tunnel, a lift)


def check_mode(mode: str) -> None:
    if mode not in MODE_KINDS:
        raise MediaError("bad-mode", f"There is no reception mode {mode!r}.")


@dataclass(eq=False)
class Subscriber:
    """A participant's reception: its mode, its connection and one feed per slot."""

    pid: str
    mode: str
    peer: Peer | None = None
    feeds: tuple[Feed, ...] = ()
    adapter: Adapter = field(default_factory=Adapter)
    _nacked: int = 0  # since the last tick, each sequence number once
    _seen_nacks: dict[int, None] = field(default_factory=dict)  # the latest ones, in order
    _packets: int = 0  # sent, at the last tick
    _heard_at: float = 0.0  # the latest RTCP from its browser
    layers_by_hand: bool = False  # chosen by hand (MediaRoom.choose_layer): left alone
    _chosen: Layer | None = None  # the layer the adapter chose last
    _silent: bool = False  # it said nothing for SILENT_S while we sent it video

    @property
    def alive(self) -> bool:
        return self.peer is not None and self.peer.pc.connectionState not in ("failed", "closed")

    def wants(self, slot: Slot) -> bool:
        """Its mode has the slot's kind, and the slot is not its own (nobody hears themself).

        Video only while its link carries it (the adapter did not drop it to sound only).
        """
        if slot.spec.media == "video" and self.adapter.ladder.sound_only:
            return False
        return self.alive and slot.spec.kind in MODE_KINDS[self.mode] and slot.owner != self.pid

    @property
    def sound_only(self) -> bool:
        """Down to the sound by itself, its link being too weak for video."""
        return self.mode == "video" and self.adapter.ladder.sound_only

    def set_mode(self, mode: str) -> None:
        """The student's choice is the ceiling; asking for video again tries it at once."""
        self.mode = mode
        now = time.monotonic()
        if mode == "video":
            self.adapter.retry(now)
        else:
            self.adapter.cap(now, SOUND_ONLY)
        self.refresh()

    def adapt(self, now: float, rungs: Sequence[Rung]) -> bool | None:
        """One tick: feed the estimate, choose; the new sound_only if it changed, else None."""
        before = self.sound_only
        packets = sum(f.writer.packets for f in self.feeds if f.writer)
        sent_bps = self.adapter.sent.bps(now)
        self.adapter.estimate.nacks(now, self._nacked, packets - self._packets, sent_bps)
        self._nacked, self._packets = 0, packets
        video = any(f.active and f.slot.spec.media == "video" for f in self.feeds)
        self._silent |= video and self._heard_at > 0 and now - self._heard_at > SILENT_S
        if self.mode == "video":
            self.adapter.tick(now, rungs)
        layer = self.adapter.ladder.layer
        if isinstance(layer, Layer) and layer != self._chosen and not self.layers_by_hand:
            # Down to the small picture is the server's own call, made for the link: its
            # keyframe is not charged to the student (who would wait for a token, frozen).
            down = self._chosen is not None and (self._chosen.spatial, layer.spatial) == (
                "high",
                "low",
            )
            self._chosen = layer
            for feed in self.feeds:
                if feed.slot.spec.media == "video":
                    if down and feed.active:
                        feed.slot.budget.grant(self.pid, now)
                    feed.choose(layer)
        if self.sound_only == before:
            return None
        self.refresh()
        return self.sound_only

    def refresh(self, slot: Slot | None = None) -> None:
        """Feed what it wants now: of one slot, or of all of them."""
        for feed in self.feeds:
            if slot is None or feed.slot is slot:
                feed.want(self.wants(feed.slot))

    def stop_feeding(self) -> None:
        for feed in self.feeds:
            feed.want(False)

    def add_feed(self, pc: RTCPeerConnection, slot: Slot) -> Feed:
        """The slot's sendonly m-line on the connection, fed once the sender starts."""
        track = FeedTrack(slot.spec.media)
        transceiver = pc.addTransceiver(track, "sendonly")
        offer.prefer_codec(transceiver, slot.spec.media)
        feed = Feed(slot, transceiver.sender, track, self.pid)
        feed.wanted = self.wants(slot)
        feed.budget = (self._sent, self._may_resend)
        if self._chosen is not None and slot.spec.media == "video":
            feed.choose(self._chosen)  # a new connection starts where its link was
        set_stream_id(transceiver.sender, slot.spec.stream)
        on_keyframe_request(transceiver.sender, feed.keyframe_requested)
        on_feedback(transceiver.sender, self._feedback)
        on_sender_started(transceiver.sender, feed.start)
        return feed

    def _feedback(self, feedback: Feedback) -> None:
        now, estimate = time.monotonic(), self.adapter.estimate
        self._heard_at = now
        if self._silent:  # back from an outage: a fresh picture at once, and no cut for it
            self._silent = False
            estimate.outage_over(now)
            for feed in self.feeds:
                if feed.active and feed.slot.spec.media == "video":
                    feed.await_keyframe("outage")
        if feedback.fraction_lost is not None:
            estimate.report(now, feedback.fraction_lost, self.adapter.sent.bps(now), feedback.rtt)
        if feedback.remb_bps is not None:
            estimate.remb(feedback.remb_bps)
        self._count_nacks(feedback.nacked)

    def _count_nacks(self, seqs: tuple[int, ...]) -> None:
        """A browser asks for a lost packet again every RTT: a loss counts once."""
        for seq in seqs:
            if seq not in self._seen_nacks:
                self._seen_nacks[seq] = None
                self._nacked += 1
        while len(self._seen_nacks) > NACKS_REMEMBERED:
            del self._seen_nacks[next(iter(self._seen_nacks))]

    def _sent(self, nbytes: int) -> None:
        self.adapter.sent.add(time.monotonic(), nbytes)

    def _may_resend(self, nbytes: int, sent_at: float) -> bool:
        return self.adapter.retransmit_ok(time.monotonic(), nbytes, sent_at)

    def report(self) -> dict[str, Any]:
        """Its mode, its connection, and per slot what was forwarded."""
        return {
            "mode": self.mode,
            "sound_only": self.sound_only,
            "link": self.adapter.report(),
            "connection": self.peer.pc.connectionState if self.peer else "none",
            "tracks": {f.slot.spec.name: f.report() for f in self.feeds},
        }
