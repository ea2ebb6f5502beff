"""Ogg Opus read and written by hand: packets copied from recorded segments into one new stream.

The "audio" rendition is kept as Ogg Opus segments (docs/recording.md). A catch-up clip, a
replay's sound and the offline download are each ONE Ogg Opus stream cut from them at packet
boundaries, never decoded: pages are parsed here (a page cut short at the end of a segment still
being written is ignored, as is everything after a damaged page) and the packets written into
fresh pages whose granule positions follow the lesson clock from the clip's start, a stretch
with no packets (a missing segment, a gap in the sound) filled with Opus's 20 ms silence frame.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from media.ogg import SAMPLE_RATE, ogg_crc, opus_samples

SAMPLES_PER_MS = 48  # Opus granule positions count 48 kHz samples, whatever the input rate
SILENCE = b"\xf8\xff\xfe"  # a 20 ms CELT frame of silence (the one WebRTC and Galene send)
SILENCE_MS = 20
_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, seq, crc, n
_CONTINUED, _FIRST, _LAST = 1, 2, 4
_PACKETS_PER_PAGE = 50  # about one second of 20 ms packets: the unit a reader can stop at


@dataclass(frozen=True)
class Page:
    granule: int
    flags: int
    packets: list[bytes]
    continued_last: bool  # the last packet goes on in the next page


class Packet(NamedTuple):  # a tuple: a long clip makes one per 20 ms of sound
    """One Opus packet of a segment, placed on the lesson clock."""

    start_ms: float
    duration_ms: float
    data: bytes


def packet_ms(packet: bytes) -> float:
    """An Opus packet's duration in ms (its TOC byte: media/ogg.py); 0 for an empty packet."""
    return opus_samples(packet) / (SAMPLE_RATE / 1000)


def pages(data: bytes) -> Iterator[Page]:
    """The complete pages of `data`, stopping quietly at a truncated or damaged one."""
    at = 0
    while at + _HEADER.size <= len(data):
        capture, _, flags, granule, _, _, _, nsegs = _HEADER.unpack_from(data, at)
        lacing_at = at + _HEADER.size
        if capture != b"OggS" or lacing_at + nsegs > len(data):
            return
        lacing = data[lacing_at : lacing_at + nsegs]
        body_at = lacing_at + nsegs
        end = body_at + sum(lacing)
        if end > len(data) or not _crc_ok(data[at:end]):
            return
        packets, current = [], bytearray()
        for size in lacing:
            current += data[body_at : body_at + size]
            body_at += size
            if size < 255:
                packets.append(bytes(current))
                current = bytearray()
        if current or (lacing and lacing[-1] == 255):
            packets.append(bytes(current))
        yield Page(granule, flags, packets, bool(lacing) and lacing[-1] == 255)
        at = end


def stream_packets(data: bytes) -> tuple[list[bytes], list[tuple[int, list[bytes]]]]:
    """The header packets (OpusHead, OpusTags) and the audio pages as (granule, packets).

    A page's packets are those that end on it: a packet split over pages belongs to the
    page it ends on, whose granule position counts it.
    """
    headers: list[bytes] = []
    audio: list[tuple[int, list[bytes]]] = []
    carry = b""
    for page in pages(data):
        packets = list(page.packets)
        if packets and page.flags & _CONTINUED:
            packets[0] = carry + packets[0]  # without its beginning it is dropped below
        elif page.flags & _CONTINUED == 0 and carry:
            carry = b""  # the rest of a packet never came: dropped, not spliced
        carry = packets.pop() if page.continued_last else b""
        ended = [p for p in packets if not p.startswith((b"OpusHead", b"OpusTags"))]
        headers += [p for p in packets if p.startswith((b"OpusHead", b"OpusTags"))]
        if ended:
            audio.append((page.granule, ended))
    return headers, audio


def timed_packets(data: bytes, start_ms: int) -> tuple[bytes | None, list[Packet]]:
    """A segment's OpusHead and its packets on the lesson clock, the segment starting at start_ms.

    A page's granule is the end of its last packet, counted in 48 kHz samples from the
    segment's start (less the pre-skip): earlier packets are placed back from it by their
    durations, so a jump in granules (the writer marked a gap) stays a gap here.
    """
    headers, audio = stream_packets(data)
    head = next((h for h in headers if h.startswith(b"OpusHead")), None)
    skip_ms = struct.unpack_from("<H", head, 10)[0] / SAMPLES_PER_MS if head else 0.0
    out: list[Packet] = []
    for granule, packets in audio:
        durations = [packet_ms(p) for p in packets]
        first = granule / SAMPLES_PER_MS - skip_ms - sum(durations)
        at = start_ms + first
        for packet, ms in zip(packets, durations, strict=True):
            out.append(Packet(at, ms, packet))
            at += ms
    return head, out


def cut(packets: Iterable[Packet], from_ms: int, to_ms: int) -> Iterator[Packet]:
    """The packets that overlap [from_ms, to_ms), in time order, silence in their gaps."""
    at: float = from_ms
    for p in sorted(packets, key=lambda p: p.start_ms):
        if p.start_ms + p.duration_ms <= from_ms or p.start_ms < at - SILENCE_MS / 2:
            continue  # before the clip, or overlapping what is already in (a duplicate)
        if p.start_ms >= to_ms:
            break
        while p.start_ms - at >= SILENCE_MS:
            yield Packet(at, SILENCE_MS, SILENCE)
            at += SILENCE_MS
        yield p
        at = max(at, p.start_ms) + p.duration_ms
    while to_ms - at >= SILENCE_MS:
        yield Packet(at, SILENCE_MS, SILENCE)
        at += SILENCE_MS


def write(head: bytes | None, packets: Iterable[Packet], serial: int = 0x5AB4) -> bytes:
    """One Ogg Opus stream: the header pages, then the packets about a second per page."""
    head = head or opus_head(channels=1)
    pre_skip = struct.unpack_from("<H", head, 10)[0]
    out = [_page(serial, 0, _FIRST, 0, [head]), _page(serial, 1, 0, 0, [_TAGS])]
    granule, batch, seq = pre_skip, [], 2
    for packet in packets:
        granule += round(packet.duration_ms * SAMPLES_PER_MS)
        batch.append(packet.data)
        if len(batch) == _PACKETS_PER_PAGE:
            out.append(_page(serial, seq, 0, granule, batch))
            batch, seq = [], seq + 1
    out.append(_page(serial, seq, _LAST, granule, batch))
    return b"".join(out)


def opus_head(channels: int, pre_skip: int = 312, rate: int = 48_000) -> bytes:
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, rate, 0, 0)


_VENDOR = b"sabak"
_TAGS = b"OpusTags" + struct.pack("<I", len(_VENDOR)) + _VENDOR + struct.pack("<I", 0)


def _page(serial: int, seq: int, flags: int, granule: int, packets: list[bytes]) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = _HEADER.pack(b"OggS", 0, flags, granule, serial, seq, 0, len(lacing))
    page = bytearray(header + lacing + b"".join(packets))
    struct.pack_into("<I", page, 22, ogg_crc(bytes(page)))
    return bytes(page)


def _crc_ok(page: bytes) -> bool:
    stored: int = struct.unpack_from("<I", page, 22)[0]
    return ogg_crc(page[:22] + b"\0\0\0\0" + page[26:]) == stored
