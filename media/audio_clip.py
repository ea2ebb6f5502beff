"""One Ogg Opus file for any stretch of a lesson, from its recorded "audio" segments.

Catch-up ("what I missed"), the replay page's sound and the offline download all come from
here: the segments that overlap the stretch, the one still being written up to its last
complete page, their packets copied (never transcoded) and cut at packet boundaries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessons.recordings import AUDIO, Recordings
from media import oggopus


@dataclass(frozen=True)
class Clip:
    body: bytes
    from_ms: int
    to_ms: int


def audio_span(recordings: Recordings, lesson_id: str) -> tuple[int, int] | None:
    """From the first recorded sound to the last: closed segments, and the open one's start."""
    segments = [s for s in recordings.segments(lesson_id) if s.track == AUDIO]
    spans = [(s.start, s.end) for s in segments]
    opened = recordings.open_audio(lesson_id)
    if opened is not None:
        spans.append((opened.start, max(opened.start, _open_end(recordings, lesson_id))))
    if not spans:
        return None
    return min(a for a, _ in spans), max(b for _, b in spans)


class Clips:
    """The last few clips made, kept while their source files stay as they were.

    A catch-up is asked for twice at once (its size, then its sound), and an audio element
    asks for a long clip in several ranges (to seek): each is cut once, not per request.
    """

    def __init__(self, recordings: Recordings, keep: int = 8, keep_bytes: int = 48_000_000) -> None:
        self.recordings, self.keep, self.keep_bytes = recordings, keep, keep_bytes
        self._made: OrderedDict[tuple[Any, ...], Clip] = OrderedDict()
        self._lock = threading.Lock()  # clips are cut in threads (asyncio.to_thread)

    def clip(self, lesson_id: str, from_ms: int, to_ms: int) -> Clip:
        sources = _sources(self.recordings, lesson_id, from_ms, to_ms)
        key = (lesson_id, from_ms, to_ms, tuple(_stamp(path) for path, _ in sources))
        with self._lock:
            if key in self._made:
                self._made.move_to_end(key)
                return self._made[key]
        made = clip(self.recordings, lesson_id, from_ms, to_ms)
        with self._lock:
            self._made[key] = made
            while len(self._made) > self.keep or self._bytes() > self.keep_bytes:
                self._made.popitem(last=False)  # a few whole lessons' sound at most
        return made

    def _bytes(self) -> int:
        return sum(len(c.body) for c in self._made.values())


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        stat = path.stat()
    except OSError:
        return str(path), -1, 0
    return str(path), stat.st_size, stat.st_mtime_ns


def clip(recordings: Recordings, lesson_id: str, from_ms: int, to_ms: int) -> Clip:
    """The sound of [from_ms, to_ms) as one Ogg Opus file; silence where nothing was recorded."""
    head, packets = None, []
    for path, start in _sources(recordings, lesson_id, from_ms, to_ms):
        try:
            data = path.read_bytes()
        except OSError:
            continue  # deleted meanwhile: a gap
        found_head, found = oggopus.timed_packets(data, start)
        head = head or found_head
        packets += found
    chosen = list(oggopus.cut(packets, from_ms, to_ms))
    return Clip(oggopus.write(head, chosen), from_ms, to_ms)


def _sources(
    recordings: Recordings, lesson_id: str, from_ms: int, to_ms: int
) -> list[tuple[Path, int]]:
    out: list[tuple[Path, int]] = []
    for s in recordings.segments(lesson_id):
        if s.track == AUDIO and s.end > from_ms and s.start < to_ms:
            path = recordings.file(lesson_id, s.file)
            if path is not None:
                out.append((path, s.start))
    opened = recordings.open_audio(lesson_id)
    if opened is not None and opened.start < to_ms:
        path = recordings.file(lesson_id, opened.file)
        if path is not None:
            out.append((path, opened.start))
    return out


def _open_end(recordings: Recordings, lesson_id: str) -> int:
    opened = recordings.open_audio(lesson_id)
    path = recordings.file(lesson_id, opened.file) if opened else None
    if opened is None or path is None:
        return 0
    _, packets = oggopus.timed_packets(path.read_bytes(), opened.start)
    return int(packets[-1].start_ms + packets[-1].duration_ms) if packets else opened.start
