"""Ogg Opus written by hand (RFC 3533, RFC 7845): Opus packets as they are, one page a flush.

PyAV's Ogg muxer keeps pages in its own buffers; the audio rendition must be readable up to
about a second ago, so its pages are written here, each one whole and flushed at once, and a
reader may read a growing file up to its last complete page. No I/O but the file given.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

SAMPLE_RATE = 48000
# A 20 ms CELT frame of silence: fills a short gap so the granule follows the lesson clock.
SILENCE = b"\xf8\xff\xfe"
SILENCE_SAMPLES = 960
_CONTINUED, _FIRST, _LAST = 1, 2, 4
_MAX_LACING = 255


# Ogg's CRC-32 is the unreflected polynomial 0x04C11DB7 with no inversion; zlib's is the
# reflected one. Reflecting the input bytes and the result turns one into the other, so
# the checksum is computed in C rather than a byte at a time in Python (one per page).
_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32: polynomial 0x04c11db7, not reflected, starting from 0 (not zlib's)."""
    reflected = ~zlib.crc32(data.translate(_REVERSED), 0xFFFFFFFF) & 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def opus_samples(packet: bytes) -> int:
    """Samples at 48 kHz in one Opus packet, from its TOC byte (RFC 6716 3.1)."""
    if not packet:
        return 0
    config, code = packet[0] >> 3, packet[0] & 3
    if config < 12:
        size = (480, 960, 1920, 2880)[config % 4]
    elif config < 16:
        size = (480, 960)[config % 2]
    else:
        size = (120, 240, 480, 960)[config % 4]
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = packet[1] & 0x3F if len(packet) > 1 else 0
    return size * frames


def opus_head(channels: int = 2, pre_skip: int = 0) -> bytes:
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, SAMPLE_RATE, 0, 0)


def opus_tags(vendor: str = "sabak") -> bytes:
    raw = vendor.encode()
    return b"OpusTags" + struct.pack("<I", len(raw)) + raw + struct.pack("<I", 0)


class OggOpusWriter:
    """One logical Ogg Opus stream into `out`: headers at once, then pages on flush()."""

    def __init__(self, out: BinaryIO, serial: int, channels: int = 2) -> None:
        self.out, self.serial = out, serial & 0xFFFFFFFF
        self.granule = 0  # samples written so far (pre-skip 0: packets start mid-stream)
        self.packets = 0
        self.bytes = 0
        self._seq = 0
        self._lacing: list[int] = []
        self._body: list[bytes] = []
        self._page(opus_head(channels), _FIRST)
        self._page(opus_tags(), 0)
        self.out.flush()

    def packet(self, data: bytes) -> None:
        """Add one Opus packet to the page being filled (a full page goes out first)."""
        lacing = [255] * (len(data) // 255) + [len(data) % 255]
        if len(self._lacing) + len(lacing) > _MAX_LACING:
            self.flush()
        self._lacing += lacing
        self._body.append(data)
        self.granule += opus_samples(data)
        self.packets += 1

    @property
    def pending(self) -> bool:
        return bool(self._body)

    def flush(self) -> None:
        """Write the page being filled, whole, and flush the file: a reader may read it now."""
        if self._body:
            self._write_pending(0)
        self.out.flush()

    def close(self) -> None:
        """The last page, marked as the end of the stream."""
        self._write_pending(_LAST)
        self.out.flush()

    def _write_pending(self, flags: int) -> None:
        lacing, body = self._lacing, b"".join(self._body)
        self._lacing, self._body = [], []
        self._page(body, flags, self.granule, lacing)

    def _page(
        self, body: bytes, flags: int, granule: int = 0, lacing: list[int] | None = None
    ) -> None:
        if lacing is None:
            lacing = [255] * (len(body) // 255) + [len(body) % 255]
        header = struct.pack(
            "<4sBBqIIIB", b"OggS", 0, flags, granule, self.serial, self._seq, 0, len(lacing)
        )
        page = bytearray(header + bytes(lacing) + body)
        struct.pack_into("<I", page, 22, ogg_crc(bytes(page)))
        self.out.write(page)
        self.bytes += len(page)
        self._seq += 1
