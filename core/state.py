"""The state a lesson keeps (a plain dataclass), and the preconditions its commands share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core import events as e
from core.check import Check
from core.errors import Refused
from core.poll import Poll
from core.presence import PresenceFold
from core.quiz import Quiz
from core.rules import Rules

Status = Literal["created", "live", "ended"]
Recording = Literal["off", "on", "failed"]
Presence = Literal["waiting", "present", "away", "left", "removed", "denied"]
ACTIVE: frozenset[Presence] = frozenset({"present", "away"})


@dataclass(frozen=True)
class Actor:
    """Who sends a command: taken from the server-side session, never from a payload."""

    participant_id: str
    role: e.Role | Literal["system"]
    name: str = ""


SYSTEM = Actor("system", "system", "Sabak")


@dataclass
class Participant:
    id: str
    name: str
    role: e.Role
    presence: Presence
    admitted: bool = True
    visible: bool = True
    listening: bool = False  # in the background, playing the lesson's sound
    chat_muted: bool = False
    device: str | None = None  # on this participant's phone (shared): receives what it does
    since_ms: int = 0  # when `presence` last changed
    gap_from_ms: int = 0  # when the current network gap began (last heard)
    gap_reason: str = ""  # "network" or "server"
    timed_out: bool = False  # away past the grace: a resume token no longer brings them back
    # Times of stored events by budget ("chat", "hand", "join", "visibility", "any"),
    # rebuilt from the log, so reconnecting or a restart does not reset a budget.
    spent: dict[str, list[int]] = field(default_factory=dict)
    # The newest visibility a flip asked for while its budget was spent: not logged (the
    # server stores it once the interval allows; a connection that ends drops it).
    pending_visible: tuple[bool, bool] | None = None  # (visible, listening)

    def times(self, budget: str) -> list[int]:
        return self.spent.setdefault(budget, [])

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "presence": self.presence,
            "visible": self.visible,
            "listening": self.listening,
            "chat_muted": self.chat_muted,
            "device": self.device,
        }


@dataclass
class ChatMessage:
    id: int
    client_id: str
    author_id: str
    author_name: str
    text: str
    to: Literal["all", "teacher", "participant"]
    ts_ms: int
    recipient_id: str | None = None  # to="participant": the teacher's private reply to one
    deleted: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author_id": self.author_id,
            "author_name": self.author_name,
            "text": self.text,
            "to": self.to,
            "recipient_id": self.recipient_id,
            "ts": self.ts_ms,
        }


@dataclass(frozen=True)
class Outcome:
    """What a command produced: the records to persist and the ack payload."""

    records: tuple[e.Record, ...]
    result: dict[str, Any]


@dataclass(eq=False, repr=False)  # one lesson is one object (by identity); no huge repr
class LessonState:
    """Every field of a lesson; only the folds of its events change them."""

    id: str
    course_id: str
    rules: Rules
    status: Status = "created"
    title: str = ""
    teacher_id: str = ""
    allow_guests: bool = False
    guests_open: bool = True  # the teacher may close guest entry during the lesson
    end_reason: str = ""
    seq: int = 0
    started_ms: int | None = None
    ended_ms: int | None = None
    participants: dict[str, Participant] = field(default_factory=dict)
    present_count: int = 0  # participants whose presence is "present", kept by the fold
    present_learners: int = 0  # the same without the teachers (what students are shown)
    chat: list[ChatMessage] = field(default_factory=list)
    chat_by_client: dict[tuple[str, str], ChatMessage] = field(default_factory=dict)
    chat_locked: bool = False
    hands: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    check_times: list[int] = field(default_factory=list)  # scheduled, chosen at the start
    scheduled_started: int = 0
    attendance: PresenceFold = field(default_factory=PresenceFold)  # as the report folds it
    polls: list[Poll] = field(default_factory=list)
    quizzes: list[Quiz] = field(default_factory=list)
    floor: dict[str, bool] = field(default_factory=dict)  # who has the floor -> camera?
    floor_offers: dict[str, bool] = field(default_factory=dict)  # not yet answered -> camera?
    recording: Recording = "off"
    recording_since: int | None = None  # when it last changed
    recording_reason: str = ""  # why it failed or stopped


def require_teacher(actor: Actor) -> None:
    if actor.role not in ("teacher", "system"):
        raise Refused("forbidden", "Only the teacher can do this.")


def require_live(state: LessonState) -> None:
    if state.status == "created":
        raise Refused("lesson-not-started", "The lesson has not started yet.")
    if state.status == "ended":
        raise Refused("lesson-ended", "The lesson has ended.")


def require_present(state: LessonState, actor: Actor) -> Participant:
    require_live(state)
    p = state.participants.get(actor.participant_id)
    if p is None or p.presence != "present":
        raise Refused("not-joined", "Join the lesson first.")
    return p


def target(state: LessonState, participant_id: str) -> Participant:
    p = state.participants.get(participant_id)
    if p is None:
        raise Refused("unknown-participant", "There is no such participant in this lesson.")
    return p
