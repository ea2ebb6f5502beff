"""A lesson over emulated links: a teacher and students each on a `Link`, and what each saw.

Shared by bench/links.py and tests/test_weak_links.py (issue 16). The server is a live
`Running` server whose media accepts ICE only through relays (bench/linkroute.py); the
teacher is an aiortc peer sending a picture that fills a pinned VP8 bitrate (~500 kbit/s,
as a real camera) and a tone in 48 kbit/s Opus; each student is an aiortc peer that
decodes what it gets.

What a student saw is measured at the student, in its own terms:
- video: camera frames that decoded (libvpx), by arrival time. A freeze is a gap of more
  than FREEZE_S between two such frames (also from the window's start to the first one and
  from the last one to its end). libvpx decodes a frame whose reference was lost, with
  artefacts, so these figures flatter the link a little; Chromium's own freezeCount is the
  stricter witness (tests/test_web_weak_links.py).
- audio: Opus frames received (aiortc recovers none by FEC) against those their RTP
  timestamps span (one a 20 ms step): a teacher that stalls sends late, not less.
- picture back: the first camera keyframe after a moment (an outage's end).
The server's side (per feed: layer if it reports one, active, retransmits; the camera slot:
keyframes the teacher sent, keyframe requests sent to it) is sampled from the media room.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiortc.codecs.opus
import aiortc.codecs.vpx
import av
from aiortc import MediaStreamTrack

from bench.linkemu import Link
from bench.linkroute import LinkRoute
from bench.media import NoisyPicture, Tone
from media.offer import MEDIA_OF
from media.workers import RemoteRoom
from server import appkeys as k
from tests.conftest import Running, make_classroom
from tests.media_peers import AiortcStudent, AiortcTeacher

MIC, CAMERA = "0", "1"  # mids of the teacher's microphone and camera in a student's offer
FREEZE_S = 0.5
AUDIO_STEP = 960  # RTP timestamp units (48 kHz) of one 20 ms Opus frame
TEACHER_BPS = 500_000
TEACHER_LOW_BPS = 150_000  # a 320x180 copy, when the teacher sends one (layers)
TEACHER_AUDIO_BPS = 48_000  # Opus, ~56 kbit/s on the wire as the browser teacher


@contextlib.contextmanager
def teacher_bitrate(
    bps: int, audio_bps: int = TEACHER_AUDIO_BPS, low_bps: int = TEACHER_LOW_BPS
) -> Iterator[None]:
    """aiortc's encoders held (process-wide) at `bps` for VP8 pictures wider than 320 px,
    `low_bps` for a 320x180 copy, and `audio_bps` for Opus (aiortc's 96 kbit/s is twice a
    browser's), whatever the server's feedback says; as they were afterwards."""
    vp8: Any = aiortc.codecs.vpx.Vp8Encoder
    opus: Any = aiortc.codecs.opus.OpusEncoder
    vp8_encode, opus_init = vp8.encode, opus.__init__

    def encode(self: Any, frame: av.VideoFrame, force_keyframe: bool = False) -> Any:
        self._Vp8Encoder__target_bitrate = low_bps if frame.width <= 320 else bps
        return vp8_encode(self, frame, force_keyframe)

    def init(self: Any) -> None:
        opus_init(self)
        self.codec.bit_rate = audio_bps

    vp8.encode, opus.__init__ = encode, init
    try:
        yield
    finally:
        vp8.encode, opus.__init__ = vp8_encode, opus_init


@dataclass
class Watch:
    """One student's receiver: arrival times of decoded camera frames and audio frames."""

    video: list[tuple[float, bool]] = field(default_factory=list)  # (arrival, keyframe)
    audio: list[tuple[float, int]] = field(default_factory=list)  # (arrival, RTP timestamp)

    def frame(self, mid: str, timestamp: int, keyframe: bool, decoded: bool) -> None:
        now = time.monotonic()
        if mid == CAMERA and decoded:
            self.video.append((now, keyframe))
        elif mid == MIC:
            self.audio.append((now, timestamp))

    def video_times(self, t0: float, t1: float) -> list[float]:
        return [t for t, _ in self.video if t0 <= t < t1]

    def freezes(self, t0: float, t1: float) -> list[float]:
        marks = [t0, *self.video_times(t0, t1), t1]
        return [b - a for a, b in itertools.pairwise(marks) if b - a > FREEZE_S]

    def fps(self, t0: float, t1: float) -> tuple[float, float]:
        """Mean and lowest decoded frames a second, over whole seconds of the window."""
        seconds = max(1, int(t1 - t0))
        bins = [0] * seconds
        for t in self.video_times(t0, t0 + seconds):
            bins[int(t - t0)] += 1
        return sum(bins) / seconds, float(min(bins))

    def audio_played(self, t0: float, t1: float) -> float:
        """Audio frames that arrived in the window against the 20 ms steps they span."""
        stamps = sorted({ts for t, ts in self.audio if t0 <= t < t1})
        if len(stamps) < 2:
            return 0.0
        return min(1.0, len(stamps) / ((stamps[-1] - stamps[0]) / AUDIO_STEP + 1))

    def first_keyframe_after(self, t0: float) -> float | None:
        return next((t for t, key in self.video if key and t >= t0), None)


class LoopedPicture(NoisyPicture):
    """NoisyPicture's first LOOP frames, then the same ones again and again.

    The encoder still works as hard (each frame differs from the one before), but the Python
    that paints a frame does not: on a shared 2-core machine it starved the teacher.
    """

    LOOP = 60

    def __init__(self, taken: Watch) -> None:
        super().__init__()
        self._painted: list[av.VideoFrame] = []
        self._shown = 0
        self._taken = taken

    async def recv(self) -> av.VideoFrame:
        self._taken.video.append((time.monotonic(), False))
        if len(self._painted) < self.LOOP:
            frame = await super().recv()
            self._painted.append(frame)
            return frame
        pts, time_base = await self.next_timestamp()
        frame = self._painted[self._shown % self.LOOP]
        self._shown += 1
        frame.pts, frame.time_base = pts, time_base
        return frame


class SmallLoopedPicture(LoopedPicture):
    """The same kind of picture at 320x180: the camera's low copy, as the teacher's page sends
    once the server takes one (layers)."""

    async def recv(self) -> av.VideoFrame:
        frame = await super().recv()
        small = frame.reformat(width=320, height=180)
        small.pts, small.time_base = frame.pts, frame.time_base
        return small


class CameraTeacher(AiortcTeacher):
    """A teacher whose camera fills its bitrate, as a real one does (aiortc's test card not),
    with its low copy when the server takes one.

    `taken` has when the encoder took each frame: a busy machine's teacher freezes too.
    """

    def tracks(self) -> tuple[MediaStreamTrack, ...]:
        self.taken = Watch()
        camera = (Tone(), LoopedPicture(self.taken))
        return (*camera, SmallLoopedPicture(Watch())) if "camera-low" in MEDIA_OF else camera


@dataclass
class Pupil:
    """A student, its link and its watch."""

    student: AiortcStudent
    link: Link
    watch: Watch
    pid: str


@dataclass
class Sample:
    """The server's view at one moment: per student its camera feed; the camera slot."""

    at: float
    feeds: dict[str, dict[str, Any]]
    camera: dict[str, Any]
    mic: dict[str, Any]


class WeakClass:
    """A lesson with a teacher on `teacher_profile` and a student per entry of `profiles`."""

    def __init__(
        self,
        server: Running,
        profiles: list[str],
        teacher_profile: str = "good",
        mode: str = "video",
        seed: int = 0,
        spare: int = 0,
    ) -> None:
        self.server = server
        self.profiles = profiles
        self.mode = mode
        self.spare_count = spare  # students made but not joined here (bench/weakphone.py's)
        self.spare: list[dict[str, Any]] = []
        self.also_sampled: list[str] = []  # participant ids whose feeds are sampled too
        self.teacher_link = Link(teacher_profile, seed=seed * 1000)
        self.pupils: list[Pupil] = []
        self.samples: list[Sample] = []
        self.teacher: CameraTeacher | None = None
        self._sampler: asyncio.Task[None] | None = None
        self._room: RemoteRoom | None = None
        self.seed = seed

    async def start(self) -> None:
        room = await make_classroom(self.server, len(self.profiles) + self.spare_count)
        lesson_id = room.lesson["id"]
        self.spare = room.students[len(self.profiles) :]
        route = LinkRoute(self.teacher_link)
        self.teacher = CameraTeacher(self.server, room.teacher["link"], route)
        await self.teacher.join(lesson_id)
        for i, (name, entry) in enumerate(zip(self.profiles, room.students, strict=False)):
            link = Link(name, seed=self.seed * 1000 + i + 1)
            student = AiortcStudent(self.server, entry["link"], LinkRoute(link))
            watch = Watch()
            student.on_frame = watch.frame
            self.pupils.append(Pupil(student, link, watch, entry["id"]))
        await asyncio.gather(*(p.student.join(lesson_id, self.mode) for p in self.pupils))
        media = self.server.app[k.MEDIA]
        assert media is not None
        self._room = media.room(lesson_id)
        self._sampler = asyncio.create_task(self._sample_every(0.5))

    async def sample(self) -> Sample:
        assert self._room is not None
        pids = [p.pid for p in self.pupils] + self.also_sampled
        receiving, stats = await asyncio.gather(self._room.receiving(pids), self._room.stats())
        feeds = {pid: self._feed(r) for pid, r in receiving.items()}
        slots = stats["slots"]
        return Sample(time.monotonic(), feeds, slots["teacher-camera"], slots["teacher-mic"])

    @staticmethod
    def _feed(receiving: dict[str, Any]) -> dict[str, Any]:
        tracks: dict[str, dict[str, Any]] = receiving["tracks"]
        mic = tracks.get("teacher-mic", {})
        more = {"mode": receiving["mode"], "mic": mic, "sound_only": receiving.get("sound_only")}
        return tracks.get("teacher-camera", {}) | more

    async def _sample_every(self, period: float) -> None:
        while True:
            with contextlib.suppress(Exception):  # a worker restarting: the next one will do
                self.samples.append(await self.sample())
            await asyncio.sleep(period)

    def worker_pid(self) -> int | None:
        media = self.server.app[k.MEDIA]
        worker = media.workers.pinned(self._room.lesson_id) if media and self._room else None
        return worker.pid if worker is not None else None

    def samples_in(self, t0: float, t1: float) -> list[Sample]:
        return [s for s in self.samples if t0 <= s.at <= t1]

    def between(self, t0: float, t1: float) -> tuple[Sample, Sample]:
        """The first and last samples of a window (for deltas of the server's counters)."""
        inside = self.samples_in(t0, t1)
        if not inside:
            raise RuntimeError("no sample of the server in this window")
        return inside[0], inside[-1]

    def sent_fps(self, t0: float, t1: float) -> tuple[float, float]:
        """Camera and microphone frames a second the server got from the teacher."""
        a, b = self.between(t0, t1)
        span = max(b.at - a.at, 1e-3)
        return (
            (b.camera["frames_in"] - a.camera["frames_in"]) / span,
            (b.mic["frames_in"] - a.mic["frames_in"]) / span,
        )

    async def close(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
        for pupil in self.pupils:
            await pupil.student.close()
            pupil.link.close()
        if self.teacher is not None:
            await self.teacher.close()
        self.teacher_link.close()


def layer_of(feed: dict[str, Any]) -> str:
    """What a student's camera feed carries: the layer the server names (e.g. "low-t1"),
    else "single" (one stream, as before layers); "off" when the server feeds the sound but
    no video; "none" before its connection carries anything."""
    if feed.get("sound_only"):
        return "off"
    if not feed.get("active", False):
        return "off" if feed.get("mic", {}).get("active") else "none"
    return str(feed.get("layer") or "single")


def spatial_of(feed: dict[str, Any]) -> str:
    """The layer's quality alone: "high", "low", "single" or "off"."""
    return layer_of(feed).split("-")[0]


def keyframes_sent(camera: dict[str, Any]) -> int:
    """Keyframes the teacher's camera sent, in every quality it sends."""
    layers = camera.get("layers")
    if isinstance(layers, dict):
        return sum(int(layer.get("keyframes_in", 0)) for layer in layers.values())
    return int(camera["keyframes_in"])
