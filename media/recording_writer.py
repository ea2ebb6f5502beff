"""The recorder's writer thread: the only code that opens, writes and closes recording files.

It takes commands from the recorder's queue (open, frame, close, probe, quit), each tagged
with the recording's generation; after a failure it ignores what the failed generation
still had queued. Closed segments are appended to the lesson's index.jsonl; the audio
rendition being written is named in audio/open.json.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media.segment import OggSegment, Segment, TrackInfo, WebmSegment, file_size, next_number

log = logging.getLogger(__name__)

Item = tuple[Any, ...]  # (op, generation, *args)
News = Callable[[str, int, str], None]  # "failed"/"ok", generation, reason
BATCH_S = 0.1  # how often the thread wakes to write what was queued
PROBE_BYTES = 64 * 1024  # room for at least a few seconds of every track
FULL = {errno.ENOSPC, errno.EDQUOT}


def failure_reason(exc: BaseException) -> str:
    """A stable code for the teacher's notice and the log: disk-full or write-error."""
    if isinstance(exc, OSError) and exc.errno in FULL:
        return "disk-full"
    return "write-error"


@dataclass
class _Open:
    """A segment being written, and where it is on the lesson clock so far."""

    info: TrackInfo
    segment: Segment
    name: str
    offset: int  # lesson clock minus the track's RTP ms: the least over its frames
    announced: int  # the offset open.json says (the audio rendition)


class Writer:
    """Writes one lesson's segments; runs in its own thread until told to quit."""

    def __init__(self, folder: Path, flush_s: float, news: News) -> None:
        self.folder, self.flush_s, self.news = folder, flush_s, news
        self.open: dict[str, _Open] = {}
        self.numbers: dict[str, int] = {}
        self.failed_gen = -1
        self.segments = 0

    def run(self, q: collections.deque[Item]) -> None:
        while True:
            time.sleep(BATCH_S)
            while q:
                item = q.popleft()
                if item[0] == "quit":
                    self._close_all()
                    return
                self._safely(item)
            self._safely(("tick", self.failed_gen + 1))

    def _safely(self, item: Item) -> None:
        try:
            self._do(item)
            if item[0] == "tick":
                self._tick(time.monotonic())
        except Exception as exc:
            self._fail(item[1], exc)

    def _do(self, item: Item) -> None:
        op, gen = item[0], item[1]
        if op == "probe":
            self._probe(gen)
        elif gen <= self.failed_gen or op == "tick":  # (a tick only flushes, after this)
            return
        elif op == "frame":
            found = self.open.get(item[2])
            if found is not None:
                found.segment.add(item[3], item[4], item[5])
                found.offset = min(found.offset, item[6])
        elif op == "open":
            self._open(item[2], item[3], item[4], item[5])
        elif op == "close":
            self._close(item[2])

    def _tick(self, now: float) -> None:
        """Flush what is due; the rendition's open.json follows its best offset so far."""
        for entry in self.open.values():
            entry.segment.tick(now)
            if entry.info.ext == "ogg" and entry.offset != entry.announced:
                self._announce(entry)

    def _announce(self, entry: _Open) -> None:
        start = entry.segment.start_ms + entry.offset
        self._replace(self.folder / "audio" / "open.json", {"file": entry.name, "start": start})
        entry.announced = entry.offset

    def _open(self, info: TrackInfo, first: bytes, t_ms: int, offset: int) -> None:
        """A segment from `t_ms` on the track's own clock (RTP ms); `offset` to the lesson's."""
        self._close(info.track)
        folder = self.folder / info.track
        folder.mkdir(parents=True, exist_ok=True)
        if info.track not in self.numbers:
            self.numbers[info.track] = next_number(folder)
        n = self.numbers[info.track]
        self.numbers[info.track] = n + 1
        name = f"{info.track}/{n:06d}.{info.ext}"
        segment: Segment
        if info.ext == "ogg":
            segment = OggSegment(self.folder / name, t_ms, self.flush_s, time.monotonic())
        else:
            segment = WebmSegment(self.folder / name, info, first, t_ms)
        self.open[info.track] = entry = _Open(info, segment, name, offset, offset)
        if info.ext == "ogg":
            self._announce(entry)

    def _close(self, track: str) -> None:
        """Close and index a track's segment, placed on the lesson clock by its least delay."""
        found = self.open.pop(track, None)
        if found is None:
            return
        info, segment, name, offset = found.info, found.segment, found.name, found.offset
        segment.close()
        if info.ext == "ogg":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.folder / "audio" / "open.json")
        if not segment.frames:
            os.unlink(segment.path)
            return
        line = {
            "track": info.track, "kind": info.kind, "codec": info.codec, "file": name,
            "start": segment.start_ms + offset, "end": segment.end_ms + offset,
            "bytes": file_size(segment.path), "frames": segment.frames, "owner": info.owner,
        }  # fmt: skip
        with open(self.folder / "index.jsonl", "a", encoding="utf-8") as index:
            index.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.segments += 1

    def _replace(self, path: Path, data: dict[str, Any]) -> None:
        """Write a small JSON file whole: a reader sees the old one or the new one."""
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temp, path)

    def _fail(self, gen: int, exc: BaseException) -> None:
        reason = failure_reason(exc)
        log.error("recording into %s failed (%s): %s", self.folder, reason, exc)
        for entry in self.open.values():
            entry.segment.abandon()  # what is on disk stays, unindexed: a gap
        self.open.clear()
        with contextlib.suppress(OSError):
            os.unlink(self.folder / "audio" / "open.json")
        self.failed_gen = max(self.failed_gen, gen)
        self.news("failed", gen, reason)

    def _probe(self, gen: int) -> None:
        """Can the disk take writes again? Write and remove a file of a few segments' size."""
        path = self.folder / ".probe"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as probe:
                probe.write(b"\0" * PROBE_BYTES)
                probe.flush()
                os.fsync(probe.fileno())
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
        self.news("ok", gen, "")

    def _close_all(self) -> None:
        for track in list(self.open):
            try:
                self._close(track)
            except Exception as exc:
                log.error("closing %s of %s failed: %s", track, self.folder, exc)
                self.open.pop(track, None)
