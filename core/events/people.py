"""Events of the people in a lesson: arriving, waiting, leaving, visibility, erasure."""

from __future__ import annotations

from dataclasses import dataclass

from core.events.base import Event, LeaveReason, Role, logged


@logged
@dataclass(frozen=True)
class ParticipantJoined(Event):
    participant_id: str
    name: str
    role: Role
    device: str | None = None  # joined on another participant's (shared) phone


@logged
@dataclass(frozen=True)
class ParticipantLeft(Event):
    participant_id: str
    reason: LeaveReason
    last_seen_ms: int | None = None  # for "network": when the server last heard them


@logged
@dataclass(frozen=True)
class ParticipantTimedOut(Event):
    """A dropped participant stayed away past the grace window: no longer on the roster."""

    participant_id: str


@logged
@dataclass(frozen=True)
class VisibilityChanged(Event):
    participant_id: str
    visible: bool
    listening: bool = False  # in the background, playing the lesson's sound


@logged
@dataclass(frozen=True)
class GuestWaiting(Event):
    participant_id: str
    name: str


@logged
@dataclass(frozen=True)
class GuestAdmitted(Event):
    participant_id: str


@logged
@dataclass(frozen=True)
class GuestEntryChanged(Event):
    open: bool


@logged
@dataclass(frozen=True)
class LearnerErased(Event):
    """An organizer erased this learner: from now on a pseudonym, and no free text."""

    participant_id: str
    pseudonym: str
