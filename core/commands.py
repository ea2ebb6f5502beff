"""Commands: what a participant (or the server on their behalf) asks a lesson to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Command:
    """Base class of every lesson command."""


@dataclass(frozen=True)
class StartLesson(Command):
    title: str
    teacher_id: str
    allow_guests: bool
    check_times_ms: tuple[int, ...] = ()  # random attendance checks, chosen by the caller


@dataclass(frozen=True)
class EndLesson(Command):
    reason: str = "ended-by-teacher"


@dataclass(frozen=True)
class Join(Command):
    """Enter the lesson (a guest enters the waiting room instead).

    `resume`: with a resume token, which brings a dropped participant back only within the
    grace, counted from the drop (kept in the log, so it holds across restarts).
    `device`: on a shared phone, the participant whose phone it is (from the server's
    session, never a payload); None on one's own device.
    """

    resume: bool = False
    device: str | None = None


@dataclass(frozen=True)
class Leave(Command):
    """Leave on purpose (a goodbye)."""


@dataclass(frozen=True)
class ConnectionLost(Command):
    """The participant's last connection closed without a goodbye.

    `last_seen_ms` is when the server last heard from it: the gap starts there, not when
    the socket.io ping timeout noticed.
    """

    last_seen_ms: int | None = None


@dataclass(frozen=True)
class SetVisibility(Command):
    """The page went to the background (phone locked, another app) or came back.

    `listening`: in the background, the page is playing the lesson's sound (the phone
    reports it); it means nothing while the page is in front.
    """

    visible: bool
    listening: bool = False


@dataclass(frozen=True)
class SettleVisibility(Command):
    """Store a participant's held visibility flip now that its interval has passed."""

    participant_id: str


@dataclass(frozen=True)
class ExpireAway(Command):
    """A dropped participant did not come back within the grace window."""

    participant_id: str


@dataclass(frozen=True)
class EraseLearner(Command):
    """The server forgets a learner's name and free text (an organizer erased them)."""

    participant_id: str
    pseudonym: str


@dataclass(frozen=True)
class NoteRestart(Command):
    """This lesson was live while the server was down since `down_since_ms`."""

    down_since_ms: int


@dataclass(frozen=True)
class StartCheck(Command):
    window_s: float | None = None
    scheduled: bool = False


@dataclass(frozen=True)
class AnswerCheck(Command):
    check_id: int


@dataclass(frozen=True)
class CloseCheck(Command):
    check_id: int


@dataclass(frozen=True)
class SendChat(Command):
    client_id: str
    text: str
    to: Literal["all", "teacher", "participant"] = "all"
    participant_id: str | None = None  # with to="participant": the one it is for


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


@dataclass(frozen=True)
class SetGuestEntry(Command):
    """The teacher opens or closes the lesson to new guests (those waiting stay)."""

    open: bool


@dataclass(frozen=True)
class OpenPoll(Command):
    kind: Literal["single", "multiple", "yesno", "text", "number"]
    question: str
    options: tuple[str, ...] = ()
    anonymous: bool = False
    changeable: bool = True
    guests: bool = True
    abstain: bool = True
    number_min: float | None = None
    number_max: float | None = None


@dataclass(frozen=True)
class AnswerPoll(Command):
    poll_id: int
    answer: Any
    voter_tag: str = ""  # anonymous polls: set by the server, never by the client


@dataclass(frozen=True)
class ClosePoll(Command):
    poll_id: int


@dataclass(frozen=True)
class PublishPoll(Command):
    poll_id: int
    with_names: bool = False


@dataclass(frozen=True)
class QuestionSpec:
    kind: Literal["single", "multiple", "number"]
    text: str
    options: tuple[str, ...] = ()
    correct: tuple[float, ...] = ()
    points: int = 1
    limit_s: float = 0


@dataclass(frozen=True)
class StartQuiz(Command):
    title: str
    questions: tuple[QuestionSpec, ...]
    mode: Literal["whole", "per_question"] = "whole"
    limit_s: float = 0
    seed: str = ""  # chosen by the server; the per-learner orders derive from it


@dataclass(frozen=True)
class NextQuestion(Command):
    """Whole quiz: all of the learner's questions; one at a time: the next one."""

    quiz_id: int


@dataclass(frozen=True)
class AnswerQuiz(Command):
    quiz_id: int
    position: int  # 1-based, in this learner's own order
    answer: Any


@dataclass(frozen=True)
class CloseQuiz(Command):
    quiz_id: int


@dataclass(frozen=True)
class PublishQuiz(Command):
    quiz_id: int


@dataclass(frozen=True)
class GiveFloor(Command):
    participant_id: str
    camera: bool = False


@dataclass(frozen=True)
class TakeFloor(Command):
    participant_id: str


@dataclass(frozen=True)
class AnswerFloor(Command):
    """The student's answer to the teacher's offer of the floor."""

    accept: bool


@dataclass(frozen=True)
class StartRecording(Command):
    """The teacher starts recording; the server resumes one that failed (`resumed`)."""

    resumed: bool = False


@dataclass(frozen=True)
class StopRecording(Command):
    pass


@dataclass(frozen=True)
class FailRecording(Command):
    """The server could not write the recording (disk-full, write-error, worker-lost)."""

    reason: str


def command_to_dict(command: Command) -> dict[str, Any]:
    """A command as JSON-friendly data (to forward it to the process that owns its lesson)."""
    import dataclasses

    return {"type": type(command).__name__, "data": dataclasses.asdict(command)}


def command_from_dict(data: dict[str, Any]) -> Command:
    kinds = {cls.__name__: cls for cls in command_classes()}
    cls = kinds.get(str(data.get("type")))
    if cls is None:
        raise ValueError(f"unknown command {data.get('type')!r}")
    fields = dict(data.get("data") or {})
    if cls is StartQuiz:
        fields["questions"] = tuple(QuestionSpec(**q) for q in fields.get("questions", ()))
    return cls(**fields)


def command_classes() -> list[type[Command]]:
    """Every command type there is."""
    found, todo = [], list(Command.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return found
