"""Recordings on disk as the media worker's recorder writes them (docs/recording.md), made here.

Real encoded media: a tone through PyAV's libopus into Ogg Opus segments, frames through
libvpx into WebM, laid out with `index.jsonl` and `audio/open.json` exactly as the format says,
so replay is tested on the files it will meet, without a live publisher.
"""

from __future__ import annotations

import array
import functools
import io
import json
import math
from pathlib import Path

import av

RATE = 48_000
FRAME = 960  # 20 ms


@functools.cache
def tone(freq: int) -> bytes:
    """One 20 ms frame of a sine at `freq` Hz (a whole number of periods: frames follow on)."""
    assert RATE % freq == 0 and FRAME % (RATE // freq) == 0
    values = (int(8000 * math.sin(2 * math.pi * freq * k / RATE)) for k in range(FRAME))
    return array.array("h", values).tobytes()


@functools.cache
def ogg_opus(seconds: float, freq: int = 400) -> bytes:
    """An Ogg Opus stream of a tone, mono, 20 ms packets, as libopus encodes it."""
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=RATE)
        stream.layout = "mono"
        for n in range(round(seconds * RATE / FRAME)):
            frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
            frame.planes[0].update(tone(freq))
            frame.sample_rate, frame.pts = RATE, n * FRAME
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


@functools.cache
def webm_vp8(seconds: float, fps: int = 10) -> tuple[bytes, int]:
    """A small VP8 WebM (grey frames) and its frame count."""
    out = io.BytesIO()
    count = round(seconds * fps)
    with av.open(out, "w", format="webm") as container:
        stream = container.add_stream(
            "libvpx", rate=fps, options={"deadline": "realtime", "cpu-used": "8"}
        )
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for n in range(count):
            frame = av.VideoFrame(160, 120, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([128]) * plane.buffer_size)
            frame.pts = n
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue(), count


class RecordingWriter:
    """Writes one lesson's folder: segments with their index lines, an open audio segment."""

    def __init__(self, root: Path, lesson_id: str) -> None:
        self.folder = root / lesson_id
        self.folder.mkdir(parents=True, exist_ok=True)
        self.counts: dict[str, int] = {}

    def _file(self, track: str, ext: str) -> str:
        n = self.counts.get(track, 0)
        self.counts[track] = n + 1
        (self.folder / track).mkdir(exist_ok=True)
        return f"{track}/{n:06d}.{ext}"

    def audio(self, start_ms: int, seconds: float) -> str:
        """A closed segment of the "audio" rendition."""
        return self.segment("audio", "audio", "opus", ogg_opus(seconds), start_ms, seconds, None)

    def video(self, track: str, start_ms: int, seconds: float, owner: str | None = None) -> str:
        data, frames = webm_vp8(seconds)
        return self.segment(track, "video", "vp8", data, start_ms, seconds, owner, frames)

    def segment(self, track: str, kind: str, codec: str, data: bytes, start_ms: int,
                seconds: float, owner: str | None, frames: int = 0) -> str:  # fmt: skip
        name = self._file(track, "ogg" if codec == "opus" and track == "audio" else "webm")
        (self.folder / name).write_bytes(data)
        line = {"track": track, "kind": kind, "codec": codec, "file": name, "start": start_ms,
                "end": start_ms + round(seconds * 1000), "bytes": len(data),
                "frames": frames or round(seconds * 50), "owner": owner}  # fmt: skip
        with (self.folder / "index.jsonl").open("a") as index:
            index.write(json.dumps(line) + "\n")
        return name

    def open_audio(self, start_ms: int, seconds: float, cut_bytes: int = 0) -> str:
        """The segment being written: in open.json, not in the index; maybe cut mid-page."""
        name = self._file("audio", "ogg")
        data = ogg_opus(seconds)
        (self.folder / name).write_bytes(data[: len(data) - cut_bytes] if cut_bytes else data)
        (self.folder / "audio" / "open.json").write_text(
            json.dumps({"file": name, "start": start_ms})
        )
        return name


def decoded_seconds(data: bytes) -> float:
    """How long an Ogg Opus file plays, decoded with PyAV."""
    samples = 0
    with av.open(io.BytesIO(data), "r") as container:
        for frame in container.decode(audio=0):
            samples += frame.samples
    return samples / RATE
