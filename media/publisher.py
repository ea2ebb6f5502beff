"""A participant's published connection: its seat and the slots its tracks feed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiortc import RTCRtpReceiver

from media.connections import Peer
from media.slot import Seat, Slot


@dataclass(eq=False)
class Publisher:
    """A participant's published connection, its seat and the slots its tracks feed."""

    pid: str
    seat: Seat
    peer: Peer
    slots: tuple[tuple[Slot, RTCRtpReceiver], ...] = ()

    def report(self) -> dict[str, Any]:
        return {
            "seat": self.seat,
            "connection": self.peer.pc.connectionState,
            "tracks": [slot.spec.name for slot, _ in self.slots],
        }
