"""Pure RTP helpers, no I/O: VP8 keyframes and payloads, and a timeline that survives a new source.

The RTP header itself is written by patches/aiortc/writer.py, next to the socket it goes to.
"""

from __future__ import annotations

VP8_CHUNK = 1296  # 1300-byte payloads, as aiortc, minus our 4-byte descriptor
CLOCK_RATES = {"audio": 48000, "video": 90000}
_MASK = 0xFFFFFFFF


def is_vp8_keyframe(data: bytes) -> bool:
    # RFC 6386 9.1: frame tag bit 0 clear marks a key frame, followed by its start code.
    return len(data) >= 6 and not data[0] & 1 and data[3:6] == b"\x9d\x01\x2a"


def vp8_payloads(frame: bytes, picture_id: int) -> list[bytes]:
    """RFC 7741 payloads: descriptor with a 15-bit picture id, start bit on the first."""
    pid = bytes([0x80 | picture_id >> 8, picture_id & 0xFF])
    first, rest = b"\x90\x80" + pid, b"\x80\x80" + pid
    return [
        (rest if i else first) + frame[i : i + VP8_CHUNK] for i in range(0, len(frame), VP8_CHUNK)
    ]


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
