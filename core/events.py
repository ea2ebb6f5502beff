"""Lesson events: past-tense facts, the only things that change a lesson."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Role = Literal["teacher", "student", "guest"]
LeaveReason = Literal["left", "network", "removed", "lesson-ended", "denied"]

_REGISTRY: dict[str, type[Event]] = {}
E = TypeVar("E", bound="type[Event]")


def _event(cls: E) -> E:
    """Register an event class under its class name (the name stored in the log)."""
    _REGISTRY[cls.__name__] = cls
    return cls


@dataclass(frozen=True)
class Event:
    """Base class; subclasses are frozen dataclasses of JSON-friendly fields."""

    def actor_for(self, participant_id: str) -> str:
        """Who the log says caused this event."""
        return participant_id


@_event
@dataclass(frozen=True)
class LessonStarted(Event):
    title: str
    teacher_id: str
    allow_guests: bool
    check_times_ms: list[int] = field(default_factory=list)


@_event
@dataclass(frozen=True)
class LessonEnded(Event):
    reason: str


@_event
@dataclass(frozen=True)
class ParticipantJoined(Event):
    participant_id: str
    name: str
    role: Role
    device: str | None = None  # joined on another participant's (shared) phone


@_event
@dataclass(frozen=True)
class ParticipantLeft(Event):
    participant_id: str
    reason: LeaveReason
    last_seen_ms: int | None = None  # for "network": when the server last heard them


@_event
@dataclass(frozen=True)
class ParticipantTimedOut(Event):
    """A dropped participant stayed away past the grace window: no longer on the roster."""

    participant_id: str


@_event
@dataclass(frozen=True)
class VisibilityChanged(Event):
    participant_id: str
    visible: bool
    listening: bool = False  # in the background, playing the lesson's sound


@_event
@dataclass(frozen=True)
class ServerRestarted(Event):
    """The server was down while this lesson was live; everyone present became away."""

    down_since_ms: int


@_event
@dataclass(frozen=True)
class GuestWaiting(Event):
    participant_id: str
    name: str


@_event
@dataclass(frozen=True)
class GuestAdmitted(Event):
    participant_id: str


@_event
@dataclass(frozen=True)
class GuestEntryChanged(Event):
    open: bool


@_event
@dataclass(frozen=True)
class ChatPosted(Event):
    message_id: int
    client_id: str
    author_id: str
    text: str
    to: Literal["all", "teacher", "participant"]
    recipient_id: str | None = None  # to="participant": the teacher's private reply to one


@_event
@dataclass(frozen=True)
class ChatDeleted(Event):
    message_id: int


@_event
@dataclass(frozen=True)
class LearnerErased(Event):
    """An organizer erased this learner: from now on a pseudonym, and no free text."""

    participant_id: str
    pseudonym: str


@_event
@dataclass(frozen=True)
class ChatLocked(Event):
    locked: bool


@_event
@dataclass(frozen=True)
class ChatMuted(Event):
    participant_id: str
    muted: bool


@_event
@dataclass(frozen=True)
class HandRaised(Event):
    participant_id: str


@_event
@dataclass(frozen=True)
class HandLowered(Event):
    participant_id: str


@_event
@dataclass(frozen=True)
class CheckStarted(Event):
    check_id: int
    deadline_ms: int
    scheduled: bool


@_event
@dataclass(frozen=True)
class CheckAnswered(Event):
    check_id: int
    participant_id: str
    response_ms: int


@_event
@dataclass(frozen=True)
class CheckClosed(Event):
    check_id: int


@_event
@dataclass(frozen=True)
class PollOpened(Event):
    poll_id: int
    kind: str
    question: str
    options: list[str]
    anonymous: bool
    changeable: bool
    guests: bool
    number_min: float | None = None
    number_max: float | None = None


@_event
@dataclass(frozen=True)
class PollAnswered(Event):
    poll_id: int
    participant_id: str
    answer: Any


@_event
@dataclass(frozen=True)
class PollBallotCast(Event):
    """One anonymous ballot, as logs written before ballots were sealed have it (read only)."""

    poll_id: int
    voter_tag: str
    answer: Any

    def actor_for(self, participant_id: str) -> str:
        return "anonymous"


@_event
@dataclass(frozen=True)
class PollBallotsCounted(Event):
    """An anonymous poll's sealed ballot box, opened at close: answers only, in sorted order.

    One record for all ballots, so no ballot has a time or a place next to its voter's events.
    """

    poll_id: int
    answers: list[Any]

    def actor_for(self, participant_id: str) -> str:
        return "anonymous"


@_event
@dataclass(frozen=True)
class PollClosed(Event):
    poll_id: int


@_event
@dataclass(frozen=True)
class PollPublished(Event):
    poll_id: int
    with_names: bool


@_event
@dataclass(frozen=True)
class QuizStarted(Event):
    quiz_id: int
    title: str
    mode: str
    questions: list[dict[str, Any]]  # with the correct answers: the log is the server's
    limit_ms: int
    seed: str  # the per-learner orders derive from it
    max_extension_ms: int


@_event
@dataclass(frozen=True)
class QuizQuestionShown(Event):
    quiz_id: int
    participant_id: str
    position: int


@_event
@dataclass(frozen=True)
class QuizAnswered(Event):
    quiz_id: int
    participant_id: str
    question_id: str
    answer: Any  # canonical option indexes or the number


@_event
@dataclass(frozen=True)
class QuizTimeExtended(Event):
    quiz_id: int
    participant_id: str
    position: int  # 0 for the whole quiz
    extra_ms: int
    gap_ms: int
    reason: str  # "network" or "server"


@_event
@dataclass(frozen=True)
class QuizClosed(Event):
    quiz_id: int


@_event
@dataclass(frozen=True)
class QuizPublished(Event):
    quiz_id: int


@_event
@dataclass(frozen=True)
class FloorOffered(Event):
    """The teacher offers the floor; the student publishes nothing until they accept."""

    participant_id: str
    camera: bool


@_event
@dataclass(frozen=True)
class FloorGiven(Event):
    """The student holds the floor (they accepted the offer; older logs: given directly)."""

    participant_id: str
    camera: bool


@_event
@dataclass(frozen=True)
class FloorDeclined(Event):
    """The student said no to the offer; what they held before (if anything) stays."""

    participant_id: str


@_event
@dataclass(frozen=True)
class FloorTaken(Event):
    participant_id: str


@dataclass(frozen=True)
class Record:
    """An event as logged: its place in the lesson, the server time and who caused it."""

    seq: int
    ts_ms: int
    actor: str
    event: Event

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": self.ts_ms, "actor": self.actor, **event_to_dict(self.event)}


def event_to_dict(event: Event) -> dict[str, Any]:
    return {"type": type(event).__name__, "data": dataclasses.asdict(event)}


def event_from_dict(type_name: str, data: dict[str, Any]) -> Event:
    """Rebuild an event from the log; unknown types or fields raise ValueError."""
    cls = _REGISTRY.get(type_name)
    if cls is None:
        raise ValueError(f"unknown event type {type_name!r}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ValueError(f"bad fields for {type_name}: {exc}") from None


def event_types() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))
