"""The pure RTP helpers of the forwarding unit (media/rtp.py), without sockets or peers."""

from __future__ import annotations

import pytest

from media.rtp import CLOCK_RATES, VP8_CHUNK, Timeline, is_vp8_keyframe, vp8_payloads

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


def test_vp8_payloads_carry_the_picture_id_and_start_only_the_first() -> None:
    frame = bytes(range(256)) * 11  # 2,816 bytes: three payloads
    payloads = vp8_payloads(frame, 0x1234)
    assert [len(p) - 4 for p in payloads] == [VP8_CHUNK, VP8_CHUNK, len(frame) - 2 * VP8_CHUNK]
    assert payloads[0][:4] == b"\x90\x80\x92\x34"  # X, S; I; M bit + 15-bit picture id
    assert all(p[:4] == b"\x80\x80\x92\x34" for p in payloads[1:])
    assert b"".join(p[4:] for p in payloads) == frame


def test_a_small_frame_is_one_payload() -> None:
    assert vp8_payloads(b"tiny", 5) == [b"\x90\x80\x80\x05tiny"]


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
