"""A participant's published connection: its seat and the slots its tracks feed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiortc import RTCRtpReceiver

from media.connections import Peer
from media.layers import Spatial
from media.slot import Seat, Slot


@dataclass(eq=False)
class Publisher:
    """A participant's published connection, its seat and the slots its tracks feed."""

    pid: str
    seat: Seat
    peer: Peer
    slots: tuple[tuple[Slot, Spatial, RTCRtpReceiver], ...] = ()

    def report(self) -> dict[str, Any]:
        return {
            "seat": self.seat,
            "connection": self.peer.pc.connectionState,
            "tracks": [
                slot.spec.name + ("" if spatial == "high" else f"-{spatial}")
                for slot, spatial, _ in self.slots
            ],
        }
