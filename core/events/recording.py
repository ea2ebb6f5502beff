"""Recording events: the lesson's media is being written to disk, no longer, or failed to be."""

from __future__ import annotations

from dataclasses import dataclass

from core.events.base import Event, logged


@logged
@dataclass(frozen=True)
class RecordingStarted(Event):
    """`by`: "teacher", or "default" (`[recording] default`), or "server" (resumed)."""

    by: str = "teacher"
    resumed: bool = False  # after a failure, by itself


@logged
@dataclass(frozen=True)
class RecordingStopped(Event):
    reason: str = "teacher"  # or "lesson-ended"


@logged
@dataclass(frozen=True)
class RecordingFailed(Event):
    """Writing stopped: disk-full, write-error or worker-lost; it resumes when it can."""

    reason: str
