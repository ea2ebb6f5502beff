"""Lesson events: past-tense facts, the only things that change a lesson.

One module per noun; this one gathers them, so `from core import events as e` names them all."""

from core.events.base import (
    Event,
    LeaveReason,
    Record,
    Role,
    event_classes,
    event_from_dict,
    event_to_dict,
    event_types,
)
from core.events.chat import (
    ChatDeleted,
    ChatLocked,
    ChatMuted,
    ChatPosted,
)
from core.events.checks import (
    CheckAnswered,
    CheckClosed,
    CheckStarted,
)
from core.events.lesson import (
    LessonEnded,
    LessonStarted,
    ServerRestarted,
)
from core.events.people import (
    GuestAdmitted,
    GuestEntryChanged,
    GuestWaiting,
    LearnerErased,
    ParticipantJoined,
    ParticipantLeft,
    ParticipantTimedOut,
    VisibilityChanged,
)
from core.events.polls import (
    PollAnswered,
    PollBallotCast,
    PollBallotsCounted,
    PollClosed,
    PollOpened,
    PollPublished,
)
from core.events.quizzes import (
    QuizAnswered,
    QuizClosed,
    QuizPublished,
    QuizQuestionShown,
    QuizStarted,
    QuizTimeExtended,
)
from core.events.recording import (
    RecordingFailed,
    RecordingStarted,
    RecordingStopped,
)
from core.events.speaking import (
    FloorDeclined,
    FloorGiven,
    FloorOffered,
    FloorTaken,
    HandLowered,
    HandRaised,
)

__all__ = [
    "ChatDeleted",
    "ChatLocked",
    "ChatMuted",
    "ChatPosted",
    "CheckAnswered",
    "CheckClosed",
    "CheckStarted",
    "Event",
    "FloorDeclined",
    "FloorGiven",
    "FloorOffered",
    "FloorTaken",
    "GuestAdmitted",
    "GuestEntryChanged",
    "GuestWaiting",
    "HandLowered",
    "HandRaised",
    "LearnerErased",
    "LeaveReason",
    "LessonEnded",
    "LessonStarted",
    "ParticipantJoined",
    "ParticipantLeft",
    "ParticipantTimedOut",
    "PollAnswered",
    "PollBallotCast",
    "PollBallotsCounted",
    "PollClosed",
    "PollOpened",
    "PollPublished",
    "QuizAnswered",
    "QuizClosed",
    "QuizPublished",
    "QuizQuestionShown",
    "QuizStarted",
    "QuizTimeExtended",
    "Record",
    "RecordingFailed",
    "RecordingStarted",
    "RecordingStopped",
    "Role",
    "ServerRestarted",
    "VisibilityChanged",
    "event_classes",
    "event_from_dict",
    "event_to_dict",
    "event_types",
]
