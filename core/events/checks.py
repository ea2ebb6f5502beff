"""Attendance check events."""

from __future__ import annotations

from dataclasses import dataclass

from core.events.base import Event, logged


@logged
@dataclass(frozen=True)
class CheckStarted(Event):
    check_id: int
    deadline_ms: int
    scheduled: bool


@logged
@dataclass(frozen=True)
class CheckAnswered(Event):
    check_id: int
    participant_id: str
    response_ms: int


@logged
@dataclass(frozen=True)
class CheckClosed(Event):
    check_id: int
