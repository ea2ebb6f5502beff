"""Events of who asks to speak and who speaks: raised hands and the floor."""

from __future__ import annotations

from dataclasses import dataclass

from core.events.base import Event, logged


@logged
@dataclass(frozen=True)
class HandRaised(Event):
    participant_id: str


@logged
@dataclass(frozen=True)
class HandLowered(Event):
    participant_id: str


@logged
@dataclass(frozen=True)
class FloorOffered(Event):
    """The teacher offers the floor; the student publishes nothing until they accept."""

    participant_id: str
    camera: bool


@logged
@dataclass(frozen=True)
class FloorGiven(Event):
    """The student holds the floor (they accepted the offer; older logs: given directly)."""

    participant_id: str
    camera: bool


@logged
@dataclass(frozen=True)
class FloorDeclined(Event):
    """The student said no to the offer; what they held before (if anything) stays."""

    participant_id: str


@logged
@dataclass(frozen=True)
class FloorTaken(Event):
    participant_id: str
