"""The state a lesson keeps, and the preconditions its commands share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from core import events as e
from core.errors import Refused
from core.rules import Rules

Status = Literal["created", "live", "ended"]
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


@dataclass(frozen=True)
class Outcome:
    """What a command produced: the records to persist and the ack payload."""

    records: tuple[e.Record, ...]
    result: dict[str, Any]


class LessonState:
    """Every field of a lesson; the mixins that change them all derive from this."""

    def __init__(self, lesson_id: str, course_id: str, rules: Rules) -> None:
        self.id = lesson_id
        self.course_id = course_id
        self.rules = rules
        self.status: Status = "created"
        self.title = ""
        self.teacher_id = ""
        self.allow_guests = False
        self.guests_open = True  # the teacher may close guest entry during the lesson
        self.end_reason = ""
        self.seq = 0
        self.started_ms: int | None = None
        self.ended_ms: int | None = None
        self.participants: dict[str, Participant] = {}
        self.present_count = 0  # participants whose presence is "present", kept by the fold
        self.init_chat()
        self.init_hands()
        self.init_checks()
        self.init_polls()
        self.init_quizzes()
        self.init_floor()

    def init_chat(self) -> None: ...
    def init_hands(self) -> None: ...
    def init_checks(self) -> None: ...
    def init_polls(self) -> None: ...
    def init_quizzes(self) -> None: ...
    def init_floor(self) -> None: ...

    def extensions_on_return(self, p: Participant, now: int) -> list[e.Event]:
        """Hook: events owed to a participant coming back from a gap (quiz time)."""
        return []

    def on_gone(self, pid: str) -> None:
        """Hook for mixins that drop a participant's state when they go (hands)."""

    def require_teacher(self, actor: Actor) -> None:
        if actor.role not in ("teacher", "system"):
            raise Refused("forbidden", "Only the teacher can do this.")

    def require_live(self) -> None:
        if self.status == "created":
            raise Refused("lesson-not-started", "The lesson has not started yet.")
        if self.status == "ended":
            raise Refused("lesson-ended", "The lesson has ended.")

    def require_present(self, actor: Actor) -> Participant:
        self.require_live()
        p = self.participants.get(actor.participant_id)
        if p is None or p.presence != "present":
            raise Refused("not-joined", "Join the lesson first.")
        return p

    def target(self, participant_id: str) -> Participant:
        p = self.participants.get(participant_id)
        if p is None:
            raise Refused("unknown-participant", "There is no such participant in this lesson.")
        return p
