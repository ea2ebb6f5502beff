"""The recording's files without a server: Ogg Opus written by hand, read back by PyAV while
it grows; the silence that keeps the rendition on the lesson clock; RTP time unwrapped."""

from __future__ import annotations

import fractions
import json
import time
from pathlib import Path
from typing import Any

import av
import pytest

from media.ogg import SILENCE, OggOpusWriter, ogg_crc, opus_samples
from media.recorder import Recorder, RecordingOptions, TrackTap
from media.recording_writer import failure_reason
from media.segment import OggSegment


def opus_packets(n: int) -> list[bytes]:
    """n real Opus packets of 20 ms (a 440 Hz tone), from libopus through PyAV."""
    encoder: Any = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48000, "stereo", "s16"
    encoder.bit_rate = 32000
    tone = bytes(range(256)) * 15  # 3840 bytes: 960 stereo s16 samples
    packets = []
    for i in range(n):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        frame.planes[0].update(tone)
        frame.sample_rate, frame.pts = 48000, i * 960
        frame.time_base = fractions.Fraction(1, 48000)
        packets += [bytes(p) for p in encoder.encode(frame)]
    return packets


def decoded_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        return sum(f.samples for f in container.decode(audio=0)) / 48000


def test_the_ogg_crc_is_oggs_own() -> None:
    assert ogg_crc(b"") == 0
    assert ogg_crc(b"OggS") == 0x5FB0A94F  # libogg's value for these four bytes


@pytest.mark.parametrize(
    ("toc", "samples"),
    # CELT 20 ms mono and stereo, hybrid 20 ms, SILK 20 and 10 ms, two CELT frames (code 1),
    # two SILK 60 ms frames (code 3, count 2)
    [(0xF8, 960), (0xFC, 960), (0x78, 960), (0x08, 960), (0x00, 480), (0xF9, 1920), (0x1B, 5760)],
)
def test_opus_packet_durations(toc: int, samples: int) -> None:
    packet = bytes([toc, 2 if toc & 3 == 3 else 0, 0])
    assert opus_samples(packet) == samples


def test_a_growing_rendition_is_readable_up_to_its_last_flushed_page(tmp_path: Path) -> None:
    path = tmp_path / "000000.ogg"
    packets = opus_packets(200)
    with open(path, "wb") as out:
        writer = OggOpusWriter(out, serial=7)
        for packet in packets[:100]:
            writer.packet(packet)
        writer.flush()
        size = path.stat().st_size
        for packet in packets[100:150]:
            writer.packet(packet)  # not flushed: not on disk yet, and that is fine
        assert path.stat().st_size == size
        assert decoded_seconds(path) == pytest.approx(2.0, abs=0.03)
        writer.flush()
        assert decoded_seconds(path) == pytest.approx(3.0, abs=0.03)
        writer.close()
    assert decoded_seconds(path) == pytest.approx(3.0, abs=0.03)


def test_short_holes_in_the_rendition_are_silence_long_ones_are_not(tmp_path: Path) -> None:
    segment = OggSegment(tmp_path / "000000.ogg", start_ms=1000, flush_s=1.0, now=0.0)
    packets = opus_packets(60)
    t = 1000
    for i, packet in enumerate(packets):
        if i == 30:
            t += 500  # 25 packets lost
        segment.add(packet, t, True)
        t += 20
    segment.add(packets[0], t - 200, True)  # a late one: its moment has passed
    segment.close()
    assert segment.frames == 60
    assert segment.end_ms == 1000 + 60 * 20 + 500
    assert decoded_seconds(segment.path) == pytest.approx(1.7, abs=0.03)
    assert SILENCE in segment.path.read_bytes()


async def test_rtp_time_is_unwrapped_and_a_segment_is_placed_by_its_least_delay(
    tmp_path: Path,
) -> None:
    now = [10_000_000]
    recorder = Recorder(
        RecordingOptions(tmp_path / "L1", 1.0, 1.0), lambda *a: None, lambda: now[0]
    )
    tap = TrackTap(recorder, "teacher-mic", "audio", lambda: None)
    recorder.taps["teacher-mic"] = tap
    packets = opus_packets(100)
    start = 2**32 - 960 * 30  # wraps after 30 packets
    for i, packet in enumerate(packets):
        now[0] = 10_000_000 + i * 20 + (40 if i % 2 else 5)  # jitter: 5 or 40 ms late
        tap.frame("t1", packet, (start + i * 960) & 0xFFFFFFFF, True)
    await recorder.close()
    lines = [json.loads(x) for x in (tmp_path / "L1" / "index.jsonl").read_text().splitlines()]
    mic = [x for x in lines if x["track"] == "teacher-mic"]
    assert [x["frames"] for x in mic] == [50, 50]  # 1 s segments, across the wrap
    # Each segment starts where its least delayed packet says: 5 ms after "capture".
    assert [x["start"] for x in mic] == [10_000_005, 10_001_005]
    assert {x["owner"] for x in lines} == {"t1"}
    assert sum(decoded_seconds(tmp_path / "L1" / x["file"]) for x in mic) == pytest.approx(
        2.0, abs=0.05
    )


def test_failures_have_stable_codes() -> None:
    import errno

    assert failure_reason(OSError(errno.ENOSPC, "full")) == "disk-full"
    assert failure_reason(OSError(errno.EIO, "io")) == "write-error"
    assert failure_reason(ValueError("odd")) == "write-error"


async def test_a_full_queue_drops_frames_and_ends_the_segment_never_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("media.recorder.QUEUE_ITEMS", 20)  # the fault: a writer far behind
    now = [10_000_000]
    options = RecordingOptions(tmp_path / "L1", segment_s=10.0, retry_s=1.0)
    recorder = Recorder(options, lambda *a: None, lambda: now[0])
    tap = TrackTap(recorder, "teacher-mic", "audio", lambda: None)
    recorder.taps["teacher-mic"] = tap
    packets = opus_packets(100)
    started = time.monotonic()
    for i, packet in enumerate(packets):  # faster than the thread's 100 ms wake-ups
        now[0] = 10_000_000 + i * 20
        tap.frame("t1", packet, i * 960, True)
    assert time.monotonic() - started < 0.5, "the event loop never waits for the writer"
    assert recorder.counters.dropped > 0
    await recorder.close()
    lines = [json.loads(x) for x in (tmp_path / "L1" / "index.jsonl").read_text().splitlines()]
    mic = [x for x in lines if x["track"] == "teacher-mic"]
    assert 0 < sum(x["frames"] for x in mic) < 100
    for segment in mic:  # each written segment is whole and plays
        assert decoded_seconds(tmp_path / "L1" / segment["file"]) == pytest.approx(
            segment["frames"] * 0.02, abs=0.03
        )
