"""Lesson events: the lesson starts, ends, and outlives a server restart."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.events.base import Event, logged


@logged
@dataclass(frozen=True)
class LessonStarted(Event):
    title: str
    teacher_id: str
    allow_guests: bool
    check_times_ms: list[int] = field(default_factory=list)


@logged
@dataclass(frozen=True)
class LessonEnded(Event):
    reason: str


@logged
@dataclass(frozen=True)
class ServerRestarted(Event):
    """The server was down while this lesson was live; everyone present became away."""

    down_since_ms: int
