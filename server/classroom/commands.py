"""Commands: what a participant (or the server on their behalf) asks a lesson to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Command:
    """Base class of every lesson command."""


@dataclass(frozen=True)
class StartLesson(Command):
    title: str
    teacher_id: str
    allow_guests: bool


@dataclass(frozen=True)
class EndLesson(Command):
    reason: str = "ended-by-teacher"


@dataclass(frozen=True)
class Join(Command):
    """Enter the lesson (a guest enters the waiting room instead)."""


@dataclass(frozen=True)
class Leave(Command):
    """Leave on purpose (a goodbye)."""


@dataclass(frozen=True)
class ConnectionLost(Command):
    """The server saw the participant's last connection close without a goodbye."""


@dataclass(frozen=True)
class SendChat(Command):
    client_id: str
    text: str
    to: Literal["all", "teacher"] = "all"


@dataclass(frozen=True)
class DeleteChat(Command):
    message_id: int


@dataclass(frozen=True)
class LockChat(Command):
    locked: bool


@dataclass(frozen=True)
class MuteChat(Command):
    participant_id: str
    muted: bool


@dataclass(frozen=True)
class RemoveParticipant(Command):
    participant_id: str


@dataclass(frozen=True)
class RaiseHand(Command):
    pass


@dataclass(frozen=True)
class LowerHand(Command):
    """Lower a hand: a student their own (participant_id None), a teacher anyone's."""

    participant_id: str | None = None


@dataclass(frozen=True)
class AdmitGuest(Command):
    participant_id: str


@dataclass(frozen=True)
class DenyGuest(Command):
    participant_id: str
