"""A lesson's recording on disk as replay reads it: its index, its files, and their deletion.

The layout is written by the media worker's recorder (docs/recording.md): per lesson a folder
with `index.jsonl` (one closed segment a line), a folder per track, and for the "audio"
rendition `audio/open.json` naming the segment being written. A line that cannot be read, or a
file that is gone, is a gap, never an error. Deleting (the organizer, retention) removes the
folder; erasing a student removes the files they own (their floor tracks) and their lines.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

INDEX, AUDIO, OPEN = "index.jsonl", "audio", "audio/open.json"
CONTENT_TYPES = {"ogg": "audio/ogg", "webm": "video/webm"}


@dataclass(frozen=True)
class Segment:
    """One closed segment of one track, its span on the lesson clock (ms)."""

    track: str
    kind: str
    codec: str
    file: str
    start: int
    end: int
    bytes: int
    frames: int
    owner: str | None = None

    def view(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OpenSegment:
    """The audio segment still being written: readable up to its last complete page."""

    file: str
    start: int


class Recordings:
    """The recordings under one directory (`[recording] dir`, shared by every process)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, lesson_id: str) -> Path:
        if not _plain_name(lesson_id):
            raise ValueError("not a lesson id")
        return self.root / lesson_id

    def exists(self, lesson_id: str) -> bool:
        return (self.folder(lesson_id) / INDEX).is_file() or self.open_audio(lesson_id) is not None

    def segments(self, lesson_id: str) -> list[Segment]:
        """Every closed segment whose file is still there, by track then time."""
        found = [s for s in self._lines(lesson_id) if self.file(lesson_id, s.file) is not None]
        return sorted(found, key=lambda s: (s.track, s.start))

    def open_audio(self, lesson_id: str) -> OpenSegment | None:
        try:
            data = json.loads((self.folder(lesson_id) / OPEN).read_text())
            segment = OpenSegment(str(data["file"]), int(data["start"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no audio being written now (or its note is half written: next time)
        return segment if self.file(lesson_id, segment.file) is not None else None

    def file(self, lesson_id: str, name: str) -> Path | None:
        """The path of a recording's file named by the index, None if not one of its files."""
        parts = name.split("/")
        if len(parts) != 2 or not all(_plain_name(p) for p in parts):
            return None  # nothing outside the lesson's folder, whatever the name says
        path = self.folder(lesson_id) / parts[0] / parts[1]
        return path if path.is_file() else None

    def delete(self, lesson_id: str) -> bool:
        folder = self.folder(lesson_id)
        if not folder.exists():
            return False
        shutil.rmtree(folder, ignore_errors=True)
        log.info("recording of lesson %s deleted", lesson_id)
        return True

    def erase_owner(self, lesson_id: str, owner: str) -> int:
        """Delete the files `owner` published (their floor tracks) and their index lines."""
        lines = self._lines(lesson_id)
        theirs = [s for s in lines if s.owner == owner]
        if not theirs:
            return 0
        for segment in theirs:
            path = self.file(lesson_id, segment.file)
            if path is not None:
                path.unlink(missing_ok=True)
        for track in {s.track for s in theirs}:
            shutil.rmtree(self.folder(lesson_id) / track, ignore_errors=True)  # also the open one
        kept = "".join(json.dumps(asdict(s)) + "\n" for s in lines if s.owner != owner)
        index = self.folder(lesson_id) / INDEX
        spare = index.with_suffix(".tmp")
        spare.write_text(kept)
        os.replace(spare, index)  # a reader sees the old index or the new, never half of one
        return len(theirs)

    def lesson_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return [p.name for p in self.root.iterdir() if p.is_dir() and _plain_name(p.name)]

    def _lines(self, lesson_id: str) -> list[Segment]:
        try:
            text = (self.folder(lesson_id) / INDEX).read_text(errors="replace")
        except OSError:
            return []
        out = []
        for line in text.splitlines():
            try:
                out.append(_segment(json.loads(line)))
            except (ValueError, TypeError, KeyError):
                continue  # a line cut short by a crash: that segment is a gap
        return out


def _segment(data: dict[str, Any]) -> Segment:
    fields = Segment.__dataclass_fields__
    segment = Segment(**{k: v for k, v in data.items() if k in fields})
    if not isinstance(segment.start, int) or not isinstance(segment.end, int):
        raise TypeError("times must be whole milliseconds")
    return segment


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name
