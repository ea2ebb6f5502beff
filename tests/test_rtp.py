"""The pure RTP helpers of the forwarding unit (media/rtp.py), without sockets or peers."""

from __future__ import annotations

import pytest

from media.rtp import (
    CLOCK_RATES,
    VP8_CHUNK,
    Temporal,
    Timeline,
    is_vp8_keyframe,
    vp8_chunks,
    vp8_descriptor,
    vp8_temporal,
)

KEY = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A]) + b"picture"  # tag bit 0 clear, start code
DELTA = bytes([0x11, 0x02, 0x00]) + b"delta"


@pytest.mark.parametrize(
    ("frame", "keyframe"),
    [
        (KEY, True),
        (DELTA, False),
        (bytes([0x11]) + KEY[1:], False),  # the start code, but the tag says inter frame
        (KEY[:5], False),  # too short to hold the start code
        (b"", False),
    ],
)
def test_a_vp8_keyframe_is_told_by_its_tag_and_start_code(frame: bytes, keyframe: bool) -> None:
    assert is_vp8_keyframe(frame) is keyframe


def test_a_frame_is_cut_into_chunks_that_leave_room_for_the_longest_descriptor() -> None:
    frame = bytes(range(256)) * 11  # 2,816 bytes: three payloads
    chunks = vp8_chunks(frame)
    assert [len(c) for c in chunks] == [VP8_CHUNK, VP8_CHUNK, len(frame) - 2 * VP8_CHUNK]
    assert b"".join(chunks) == frame
    assert VP8_CHUNK + len(vp8_descriptor(1, True, Temporal(2, True), 0)) == 1300
    assert vp8_chunks(b"tiny") == [b"tiny"]


def test_the_descriptor_carries_the_picture_id_and_starts_only_the_first() -> None:
    assert vp8_descriptor(0x1234, True, None, 7) == b"\x90\x80\x92\x34"  # X S; I; M + 15 bits
    assert vp8_descriptor(0x1234, False, None, 7) == b"\x80\x80\x92\x34"
    assert vp8_descriptor(0x8001, True, None, 0) == b"\x90\x80\x80\x01"  # wraps at 15 bits


def test_the_temporal_descriptor_adds_tl0picidx_tid_and_layer_sync() -> None:
    head = vp8_descriptor(5, True, Temporal(1, True), 0x1FF)
    assert head == b"\x90\xe0\x80\x05\xff\x60"  # I L T; picture id; TL0PICIDX; TID 1, Y
    assert vp8_descriptor(5, False, Temporal(2, False), 3)[4:] == b"\x03\x80"


@pytest.mark.parametrize(
    ("payload", "temporal"),
    [
        (vp8_descriptor(77, True, Temporal(0, False), 9) + b"vp8", Temporal(0, False)),
        (vp8_descriptor(77, True, Temporal(2, True), 9) + b"vp8", Temporal(2, True)),
        (vp8_descriptor(77, False, Temporal(1, False), 9) + b"vp8", None),  # not the start
        (vp8_descriptor(77, True, None, 9) + b"vp8", None),  # no T bit: no layers
        (b"\x90\x20\x40", Temporal(1, False)),  # T only, no picture id, no TL0PICIDX
        (b"\x90\xa0\x05\x80", Temporal(2, False)),  # a 7-bit picture id, then TID 2
        (b"\x10vp8", None),  # no extension at all (as aiortc sends)
        (b"\x91\x20\x40", None),  # partition 1 does not start the frame
        (b"\x90\xe0\x80", None),  # truncated
        (b"", None),
    ],
)
def test_the_temporal_layer_is_read_from_a_frames_first_payload(
    payload: bytes, temporal: Temporal | None
) -> None:
    assert vp8_temporal(payload) == temporal


def test_the_first_source_starts_the_timeline_at_zero_and_keeps_its_steps() -> None:
    timeline = Timeline(CLOCK_RATES["video"])
    assert timeline.map(1_000_000, now=10.0) == 0
    assert timeline.map(1_003_000, now=10.033) == 3000


def test_a_new_source_continues_after_its_pause_never_backwards() -> None:
    timeline = Timeline(CLOCK_RATES["audio"])
    timeline.map(500, now=1.0)
    last = timeline.map(500 + 960, now=1.5)
    timeline.new_source()  # a republish, its own random timestamps, 2 s later
    first = timeline.map(7, now=3.5)
    assert first == last + 2 * 48000
    assert timeline.map(7 + 960, now=3.52) == first + 960


def test_a_new_source_at_once_still_moves_forward() -> None:
    timeline = Timeline(CLOCK_RATES["video"])
    last = timeline.map(42, now=5.0)
    timeline.new_source()
    assert timeline.map(99_999, now=5.0) == last + 1


def test_the_timeline_wraps_at_32_bits() -> None:
    timeline = Timeline(CLOCK_RATES["video"])
    timeline.map(0xFFFF_FF00, now=0.0)  # the first source's origin is 0
    timeline.new_source()
    start = timeline.map(0, now=0.0)
    assert start == 1
    assert timeline.map(0xFFFF_FFFF, now=0.1) == 0  # 2^32 - 1 steps later, modulo 2^32
