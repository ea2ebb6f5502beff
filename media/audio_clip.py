"""One Ogg Opus file for any stretch of a lesson, from its recorded "audio" segments.

Catch-up ("what I missed"), the replay page's sound and the offline download all come from
here: the segments that overlap the stretch, the one still being written up to its last
complete page, their packets copied (never transcoded) and cut at packet boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
