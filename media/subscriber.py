"""A subscriber: a participant's reception, its mode, its connection and one feed per slot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection

from media import offer
from media.connections import Peer
from media.errors import MediaError
from media.feed import Feed, FeedTrack
from media.slot import MODE_KINDS, Slot
from patches.aiortc.sender import on_keyframe_request, on_sender_started, set_stream_id


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

    @property
    def alive(self) -> bool:
        return self.peer is not None and self.peer.pc.connectionState not in ("failed", "closed")

    def wants(self, slot: Slot) -> bool:
        """Its mode has the slot's kind, and the slot is not its own (nobody hears themself)."""
        return self.alive and slot.spec.kind in MODE_KINDS[self.mode] and slot.owner != self.pid

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
        set_stream_id(transceiver.sender, slot.spec.stream)
        on_keyframe_request(transceiver.sender, feed.keyframe_requested)
        on_sender_started(transceiver.sender, feed.start)
        return feed

    def report(self) -> dict[str, Any]:
        """Its mode, its connection, and per slot what was forwarded."""
        return {
            "mode": self.mode,
            "connection": self.peer.pc.connectionState if self.peer else "none",
            "tracks": {f.slot.spec.name: f.report() for f in self.feeds},
        }
