"""Pure RTP helpers, no I/O: VP8 keyframes, descriptors and payloads, and continuous timelines.

The RTP header itself is written by patches/aiortc/writer.py, next to the socket it goes to.
"""

from __future__ import annotations

from typing import NamedTuple

VP8_CHUNK = 1294  # 1300-byte payloads, as aiortc, minus our descriptor (6 bytes at most)
CLOCK_RATES = {"audio": 48000, "video": 90000}
_MASK = 0xFFFFFFFF


class Temporal(NamedTuple):
    """A VP8 frame's temporal layer (RFC 7741 4.2): its TID, and whether it is a layer sync.

    A layer sync frame (Y bit) depends on the base layer (TID 0) only, so a receiver may start
    taking its layer there.
    """

    tid: int
    sync: bool


def is_vp8_keyframe(data: bytes) -> bool:
    # RFC 6386 9.1: frame tag bit 0 clear marks a key frame, followed by its start code.
    return len(data) >= 6 and not data[0] & 1 and data[3:6] == b"\x9d\x01\x2a"


def vp8_temporal(payload: bytes) -> Temporal | None:
    """The temporal layer in the descriptor of a frame's first RTP payload, else None.

    None too for a payload that does not start a frame (S bit clear, or a later partition)
    and for a descriptor without the T bit: such a stream cannot be thinned in time.
    """
    if len(payload) < 2 or payload[0] & 0x9F != 0x90:  # X and S set, partition 0
        return None
    ext, pos = payload[1], 2
    if not ext & 0x20:  # no T bit: no TID
        return None
    if ext & 0x80:  # I: a 7- or 15-bit picture id
        pos += 2 if len(payload) > pos and payload[pos] & 0x80 else 1
    pos += bool(ext & 0x40)  # L: TL0PICIDX
    if len(payload) <= pos:
        return None
    return Temporal(payload[pos] >> 6, bool(payload[pos] & 0x20))


def vp8_descriptor(picture_id: int, start: bool, temporal: Temporal | None, tl0: int) -> bytes:
    """An RFC 7741 descriptor: 15-bit picture id, and TL0PICIDX and TID when temporal.

    The forwarding unit writes its own for each subscriber, so that picture ids and TL0PICIDX
    stay continuous for it across skipped frames and switched layers.
    """
    pid = bytes([0x80 | (picture_id >> 8) & 0x7F, picture_id & 0xFF])
    first = 0x90 if start else 0x80
    if temporal is None:
        return bytes([first, 0x80]) + pid
    return bytes([first, 0xE0, *pid, tl0 & 0xFF, temporal.tid << 6 | temporal.sync << 5])


def vp8_chunks(frame: bytes) -> list[bytes]:
    """A frame cut into RTP payload bodies, each to follow a descriptor."""
    return [frame[i : i + VP8_CHUNK] for i in range(0, len(frame), VP8_CHUNK)]


class Timeline:
    """One slot's outgoing RTP timestamps, continuous across changes of source.

    A new source continues the old timeline as if it had paused, so that a republish never
    sends subscribers' jitter buffers backwards in time. `now` is a monotonic time in seconds.
    """

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self._offset: int | None = None
        self._last_ts: int | None = None
        self._last_wall = 0.0

    def new_source(self) -> None:
        """The next timestamp starts a new source: it continues after the last one sent."""
        self._offset = None

    def map(self, timestamp: int, now: float) -> int:
        """The source's timestamp on this timeline."""
        if self._offset is None:
            start = (
                0
                if self._last_ts is None
                else self._last_ts + max(1, int((now - self._last_wall) * self.clock_rate))
            )
            self._offset = (start - timestamp) & _MASK
        self._last_ts, self._last_wall = (timestamp + self._offset) & _MASK, now
        return self._last_ts
