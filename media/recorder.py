"""A lesson's recording in its media worker: frames tapped as they come, files written by a thread.

The slots (media/slot.py) hand every encoded frame to their TrackTap on the event loop; the
tap times the frame by its RTP clock (placed on the lesson clock by the least delayed frame
of each segment), decides where segments begin (a video segment at a key frame, asked for at
the boundary) and puts a small command on a bounded
queue. A writer thread (media/recording_writer.py) owns every file and takes what is queued
every tenth of a second (not one wake-up per frame): forwarding never waits for a disk. A
full queue drops frames and marks a gap; a failing disk stops the recording,
is reported, and is probed every `retry_s` until it takes writes again.
The format is in docs/recording.md.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from media.recording_writer import Item, Writer
from media.segment import TrackInfo

if TYPE_CHECKING:
    from media.slot import Slot

QUEUE_ITEMS = 4096  # ~30 s of a lesson's frames: a slow disk's hiccup, not a dead one
IDLE_MS = 2000  # a track silent this long (unpublished, lost): its segment is closed
FLUSH_S = 1.0  # the audio rendition is readable up to about this long ago
DRIFT_PER_S = 1.0  # ms a second a track's clock may drift from ours (1000 ppm)
State = Literal["on", "failed", "stopped"]
Report = Callable[[str, str], None]  # state ("on", "failed"), reason
_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class RecordingOptions:
    """Where a worker writes a lesson's recording (its folder), and how (`[recording]`)."""

    folder: Path
    segment_s: float = 10.0
    retry_s: float = 10.0


def wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class _Output:
    """One track's segment as the event loop sees it: open or not, and since when."""

    info: TrackInfo
    open: bool = False
    start: int = 0
    last_arrival: int = 0
    last_t: int = 0
    broken: bool = False  # its frames were dropped: close it before anything else


def _ask_keyframe(slot: Slot) -> None:
    """A segment starts at a keyframe: the recorder asks for one at each boundary (coalesced
    with everyone's, at most one a second per layer), outside the students' budgets. So a
    recorded lesson costs the class one keyframe per `segment_s` (6 a minute at 10 s): the
    price of segments a crash loses at most one of."""
    slot.budget.grant("recorder", time.monotonic())
    slot.ask_keyframe("high", "recording", "recorder")


class TrackTap:
    """One slot's frames on their way to its track (and, for the teacher's mic, the rendition)."""

    def __init__(
        self, recorder: Recorder, slot: str, media: str, keyframe: Callable[[], None]
    ) -> None:
        self.recorder, self.slot, self.media = recorder, slot, media
        self.clock_rate = 48000 if media == "audio" else 90000
        self.request_keyframe = keyframe
        self.outputs: list[_Output] = []
        self._owner: str | None = None
        self._gen = recorder.gen
        self._reset_time()

    def _reset_time(self) -> None:
        self._last_rtp: int | None = None
        self._cycles = 0
        self._delay: float | None = None  # lesson clock minus RTP ms: the least, slowly let go
        self._delay_at = 0

    def new_source(self) -> None:
        """Another connection feeds the slot: its RTP clock starts anew, so do its segments."""
        self.close()
        self._owner = None
        self.outputs = []
        self._reset_time()

    def close(self) -> None:
        for out in self.outputs:
            self._close(out)

    def frame(self, owner: str | None, data: bytes, timestamp: int, keyframe: bool) -> None:
        rec = self.recorder
        if rec.state != "on":
            return
        if rec.gen != self._gen:  # the disk failed since: the writer dropped every segment
            self._gen = rec.gen
            for out in self.outputs:
                out.open = out.broken = False
        if owner != self._owner or not self.outputs:
            self.new_source()
            self._owner, self.outputs = owner, [_Output(i) for i in rec.infos(self.slot, owner)]
        arrival = rec.clock()
        t = self._rtp_ms(timestamp)
        offset = self._offset(arrival - t, arrival)
        for out in self.outputs:
            self._feed(out, data, t, keyframe, arrival, offset)

    def _offset(self, seen: int, arrival: int) -> int:
        """Where the track's RTP clock is on the lesson clock: its least delayed frame.

        The least is let go of by DRIFT_PER_S only, so that the sender's clock may drift a
        little, and a stall of seconds (every frame late) does not move the track's frames.
        """
        if self._delay is None:
            self._delay = seen
        else:
            drift = DRIFT_PER_S * (arrival - self._delay_at) / 1000
            self._delay = min(self._delay + drift, seen)
        self._delay_at = arrival
        return int(self._delay)

    def _rtp_ms(self, timestamp: int) -> int:
        """The frame's RTP time in ms, unwrapped: the track's own clock, which segments use.

        Its place on the lesson clock is found by the writer: each frame carries its delay.
        """
        last = self._last_rtp
        if last is not None and timestamp < last and last - timestamp > 1 << 31:
            self._cycles += 1
        self._last_rtp = timestamp
        return ((self._cycles << 32) + timestamp) * 1000 // self.clock_rate

    def _feed(
        self, out: _Output, data: bytes, t: int, keyframe: bool, arrival: int, offset: int
    ) -> None:
        rec, video = self.recorder, self.media == "video"
        if out.broken and rec.put(("close", rec.gen, out.info.track)):
            out.open = out.broken = False
        if out.broken:
            return
        due = out.open and t - out.start >= rec.segment_ms
        gap = out.open and abs(t - out.last_t) > IDLE_MS
        if out.open and (gap or (due and (keyframe or not video))):
            self._close(out)
        elif due:
            self.request_keyframe()
        if not out.open:
            if video and not keyframe:
                self.request_keyframe()
                return
            if not rec.put(("open", rec.gen, out.info, data, t, offset)):
                return
            out.open, out.start = True, t
        out.last_arrival, out.last_t = arrival, t
        # The least delayed frames say where the segment is on the lesson clock: so audio
        # and video line up as they were captured, whatever the encoder's delay.
        if not rec.put(("frame", rec.gen, out.info.track, data, t, keyframe, offset)):
            out.broken = True  # the file has a hole now: end it, start anew at a key frame

    def _close(self, out: _Output) -> None:
        rec = self.recorder
        if out.open and not rec.put(("close", rec.gen, out.info.track)):
            out.broken = True
        out.open = False

    def idle(self, now: int) -> None:
        """Close segments of a track that stopped: they belong in the index now."""
        for out in self.outputs:
            if out.open and now - out.last_arrival > IDLE_MS:
                self._close(out)


@dataclass
class Counters:
    dropped: int = 0
    failures: int = 0
    reasons: list[str] = field(default_factory=list)


class Recorder:
    """One lesson's recording: its taps, its queue, its writer thread, its state."""

    def __init__(
        self,
        options: RecordingOptions,
        report: Report,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.folder = options.folder
        self.segment_ms = int(options.segment_s * 1000)
        self.retry_s, self.report, self.clock = options.retry_s, report, clock
        self.state: State = "on"
        self.gen = 0
        self.counters = Counters()
        self.teacher: str | None = None
        self.taps: dict[str, TrackTap] = {}
        self._slots: list[Slot] = []
        self._loop = asyncio.get_running_loop()
        self._queue: collections.deque[Item] = collections.deque()
        writer = Writer(self.folder, FLUSH_S, self._from_writer)
        self._thread = threading.Thread(target=writer.run, args=(self._queue,), daemon=True)
        self._thread.start()
        self._timer = self._loop.call_later(1.0, self._every_second)
        self._probing: asyncio.TimerHandle | None = None

    def attach(self, slots: Iterable[Slot]) -> None:
        """Tap every slot: each frame comes here first, before it is forwarded."""
        for slot in slots:
            request = partial(_ask_keyframe, slot)
            slot.recording = TrackTap(self, slot.spec.name, slot.spec.media, request)
            self.taps[slot.spec.name] = slot.recording
            self._slots.append(slot)

    def infos(self, slot: str, owner: str | None) -> list[TrackInfo]:
        """The tracks a slot's frames go to: floor tracks carry their participant."""
        kind: Any = "audio" if slot.endswith("-mic") else "video"
        codec, name = ("opus" if kind == "audio" else "vp8"), slot
        if slot.startswith("floor-") and owner is not None:
            name = f"{slot}.{owner}"
        infos = [TrackInfo(name, kind, codec, "webm", owner)]
        if slot == "teacher-mic":
            infos.append(TrackInfo("audio", "audio", "opus", "ogg", owner))
        return infos

    def put(self, item: Item) -> bool:
        if len(self._queue) >= QUEUE_ITEMS:
            self.counters.dropped += 1
            return False
        self._queue.append(item)  # a deque's append is atomic: no lock, no wake-up
        return True

    def _every_second(self) -> None:
        now = self.clock()
        for tap in self.taps.values():
            tap.idle(now)
        self._timer = self._loop.call_later(1.0, self._every_second)

    # -- the writer's news, in the event loop --------------------------------------------------

    def _from_writer(self, news: str, gen: int, reason: str) -> None:
        """Called in the writer thread: hand it to the event loop."""
        self._loop.call_soon_threadsafe(self._heard, news, gen, reason)

    def _heard(self, news: str, gen: int, reason: str) -> None:
        if news == "failed" and self.state == "on" and gen == self.gen:
            self.state, self.gen = "failed", self.gen + 1
            self.counters.failures += 1
            self.counters.reasons.append(reason)
            self.report("failed", reason)
            self._probe_later()
        elif news == "ok" and self.state == "failed" and gen == self.gen:
            self.state = "on"
            self.report("on", "resumed")
            for tap in self.taps.values():
                tap.request_keyframe()

    def _probe_later(self) -> None:
        self._probing = self._loop.call_later(self.retry_s, self._probe)

    def _probe(self) -> None:
        if self.state == "failed":
            self.put(("probe", self.gen))
            self._probe_later()

    # -- the end -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop: every open segment is closed and indexed, then the thread ends."""
        if self.state == "stopped":
            return
        for slot in self._slots:
            if slot.recording is not None:
                slot.recording.close()
            slot.recording = None
        self.state = "stopped"
        self._timer.cancel()
        if self._probing is not None:
            self._probing.cancel()
        self._queue.append(("quit", self.gen))
        await asyncio.to_thread(self._thread.join, 30.0)

    def report_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "dropped": self.counters.dropped,
            "failures": self.counters.failures,
            "queued": len(self._queue),
        }
