"""One segment file of a recording: WebM muxed by PyAV, or the Ogg Opus of the audio rendition.

Packets go in as they arrived (VP8 frames, Opus packets), never decoded; times are lesson
clock milliseconds. Only the recorder's writer thread touches these (docs: RECORDING format
in docs/recording.md).
"""

from __future__ import annotations

import contextlib
import fractions
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import av

from media.ogg import SAMPLE_RATE, SILENCE, SILENCE_SAMPLES, OggOpusWriter

Kind = Literal["audio", "video"]
MS = fractions.Fraction(1, 1000)
# A shorter hole in the rendition is filled with silence, so that its audio stays on the
# lesson clock; a longer one ends the segment (the index then shows the gap).
FILL_MAX_MS = 2000


@dataclass(frozen=True)
class TrackInfo:
    """What an index line says of a track besides its segment's span."""

    track: str
    kind: Kind
    codec: str  # "opus" or "vp8"
    ext: str  # "webm" or "ogg"
    owner: str | None


class Segment(Protocol):
    path: Path
    start_ms: int
    end_ms: int
    frames: int

    def add(self, data: bytes, t_ms: int, keyframe: bool) -> None: ...

    def tick(self, now: float) -> None: ...

    def close(self) -> None: ...

    def abandon(self) -> None: ...


def vp8_size(keyframe: bytes) -> tuple[int, int]:
    """Width and height from a VP8 key frame's header (RFC 6386 9.1)."""
    width = int.from_bytes(keyframe[6:8], "little") & 0x3FFF
    height = int.from_bytes(keyframe[8:10], "little") & 0x3FFF
    return width, height


class WebmSegment:
    """A WebM file with one stream, muxed by PyAV without decoding."""

    def __init__(self, path: Path, info: TrackInfo, first: bytes, start_ms: int) -> None:
        self.path, self.info, self.start_ms, self.end_ms = path, info, start_ms, start_ms
        self.frames, self._last_pts, self._step = 0, -1, 20
        self.size = vp8_size(first) if info.kind == "video" else (0, 0)
        self._out: Any = av.open(str(path), "w", format="webm")
        self._stream: Any
        if info.kind == "video":
            self._stream = self._out.add_stream("vp8")
            self._stream.codec_context.width, self._stream.codec_context.height = self.size
        else:
            self._stream = self._out.add_stream("libopus", rate=SAMPLE_RATE)
            self._stream.codec_context.layout = "stereo"
        self._stream.time_base = MS

    def add(self, data: bytes, t_ms: int, keyframe: bool) -> None:
        pts = t_ms - self.start_ms
        if pts <= self._last_pts:
            if self.info.kind == "audio":
                return  # late or reordered: its moment has been written already
            pts = self._last_pts + 1
        packet = av.Packet(data)
        packet.stream, packet.time_base = self._stream, MS
        packet.pts = packet.dts = pts
        packet.is_keyframe = keyframe
        self._out.mux(packet)
        if self._last_pts >= 0:
            self._step = max(1, min(pts - self._last_pts, 200))
        self._last_pts, self.frames = pts, self.frames + 1
        self.end_ms = t_ms + self._step

    def tick(self, now: float) -> None:
        pass

    def close(self) -> None:
        self._out.close()

    def abandon(self) -> None:
        with contextlib.suppress(Exception):  # a full disk: what is there stays, unindexed
            self._out.close()


class OggSegment:
    """A segment of the audio rendition: Ogg Opus pages flushed at least every `flush_s`."""

    def __init__(self, path: Path, start_ms: int, flush_s: float, now: float) -> None:
        self.path, self.start_ms, self.end_ms, self.frames = path, start_ms, start_ms, 0
        self.flush_s, self._flushed = flush_s, now
        self._file = open(path, "wb")  # noqa: SIM115 (closed by close/abandon)
        self._ogg = OggOpusWriter(self._file, serial=start_ms)

    def add(self, data: bytes, t_ms: int, keyframe: bool) -> None:
        expected = self.start_ms + self._ogg.granule * 1000 // SAMPLE_RATE
        if t_ms < expected - 10:
            return  # late or reordered
        missing = (t_ms - expected) * SAMPLE_RATE // 1000 // SILENCE_SAMPLES
        for _ in range(min(missing, FILL_MAX_MS // 20)):
            self._ogg.packet(SILENCE)
        self._ogg.packet(data)
        self.frames += 1
        self.end_ms = self.start_ms + self._ogg.granule * 1000 // SAMPLE_RATE

    def tick(self, now: float) -> None:
        if now - self._flushed >= self.flush_s and self._ogg.pending:
            self._ogg.flush()
            self._flushed = now

    def close(self) -> None:
        self._ogg.close()
        self._file.close()

    def abandon(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()


def next_number(folder: Path) -> int:
    """Segments are numbered from 0 per track; a restarted recorder goes on after the last."""
    numbers = [int(p.stem) for p in folder.glob("*.*") if p.stem.isdigit()]
    return max(numbers, default=-1) + 1


def file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
