"""The wire, parsed in one place: untrusted socket.io payloads into typed lesson commands."""

from __future__ import annotations

from core import commands as c
from core.errors import Refused
from signaling.schema import Field, Spec

MAX_TEXT = 20_000  # a bound on the wire; the lesson's own limit is enforced by the core


PID = Field("participant_id", str)
POLL = Field("poll_id", int, maximum=10_000)
QUIZ = Field("quiz_id", int, maximum=10_000)
SDP = Field("sdp", str, max_len=30_000)
MODE = Field("mode", str, choices=("none", "audio", "video"))
QUESTION = Spec(
    (
        Field("kind", str, choices=("single", "multiple", "number")),
        Field("text", str, max_len=1000),
        Field("options", list, required=False, items=str, max_len=200, max_items=12),
        Field("correct", list, items=float, minimum=-1e12, maximum=1e12, max_items=12),
        Field("points", int, required=False, minimum=0, maximum=100),
        Field("limit_s", float, required=False, minimum=5, maximum=3600),
    )
)

EVENTS: dict[str, Spec] = {
    "join": Spec((Field("lesson_id", str, required=False),), None),
    "leave": Spec((), c.Leave),
    "chat_send": Spec(
        (
            Field("client_id", str),
            Field("text", str, max_len=MAX_TEXT),
            Field("to", str, required=False, choices=("all", "teacher", "participant")),
            Field("participant_id", str, required=False),
        ),
        c.SendChat,
    ),
    "chat_delete": Spec((Field("message_id", int),), c.DeleteChat, teacher_only=True),
    "chat_lock": Spec((Field("locked", bool),), c.LockChat, teacher_only=True),
    "chat_mute": Spec((PID, Field("muted", bool)), c.MuteChat, teacher_only=True),
    "participant_remove": Spec((PID,), c.RemoveParticipant, teacher_only=True),
    "hand_raise": Spec((), c.RaiseHand),
    "hand_lower": Spec((Field("participant_id", str, required=False),), c.LowerHand),
    "guest_admit": Spec((PID,), c.AdmitGuest, teacher_only=True),
    "guest_deny": Spec((PID,), c.DenyGuest, teacher_only=True),
    "guest_entry": Spec((Field("open", bool),), c.SetGuestEntry, teacher_only=True),
    "lesson_end": Spec((), c.EndLesson, teacher_only=True),
    "beat": Spec((), None),
    "visibility": Spec(
        (Field("visible", bool), Field("listening", bool, required=False)), c.SetVisibility
    ),
    "check_start": Spec(
        (Field("window_s", int, required=False, minimum=5, maximum=3600),),
        c.StartCheck,
        teacher_only=True,
    ),
    "check_answer": Spec((Field("check_id", int),), c.AnswerCheck),
    "check_close": Spec((Field("check_id", int),), c.CloseCheck, teacher_only=True),
    "learner_add": Spec((Field("token", str, max_len=4096),), None),
    "poll_open": Spec(
        (
            Field("kind", str, choices=("single", "multiple", "yesno", "text", "number")),
            Field("question", str, max_len=500),
            Field("options", list, required=False, items=str, max_len=200, max_items=12),
            Field("anonymous", bool, required=False),
            Field("changeable", bool, required=False),
            Field("guests", bool, required=False),
            Field("abstain", bool, required=False),
            Field("number_min", float, required=False, minimum=-1e12, maximum=1e12),
            Field("number_max", float, required=False, minimum=-1e12, maximum=1e12),
        ),
        lambda options=(), **kw: c.OpenPoll(options=tuple(options), **kw),
        teacher_only=True,
    ),
    "poll_answer": Spec((POLL, Field("answer", object)), c.AnswerPoll),
    "poll_close": Spec((POLL,), c.ClosePoll, teacher_only=True),
    "poll_publish": Spec(
        (POLL, Field("with_names", bool, required=False)), c.PublishPoll, teacher_only=True
    ),
    "quiz_start": Spec(
        (
            Field("title", str, max_len=200),
            Field("mode", str, required=False, choices=("whole", "per_question")),
            Field("limit_s", float, required=False, minimum=5, maximum=4 * 3600),
            Field("questions", list, items=QUESTION, max_items=100),
        ),
        lambda questions, **kw: c.StartQuiz(
            questions=tuple(c.QuestionSpec(**q) for q in questions), **kw
        ),
        teacher_only=True,
    ),
    "quiz_next": Spec((QUIZ,), c.NextQuestion),
    "quiz_answer": Spec(
        (QUIZ, Field("position", int, maximum=100), Field("answer", object)), c.AnswerQuiz
    ),
    "quiz_close": Spec((QUIZ,), c.CloseQuiz, teacher_only=True),
    "quiz_publish": Spec((QUIZ,), c.PublishQuiz, teacher_only=True),
    "quiz_result": Spec((QUIZ,), None),
    "floor_give": Spec(
        (PID, Field("camera", bool, required=False)), c.GiveFloor, teacher_only=True
    ),
    "floor_take": Spec((PID,), c.TakeFloor, teacher_only=True),
    "floor_answer": Spec((Field("accept", bool),), c.AnswerFloor),
    "media_publish": Spec((SDP, Field("track_kinds", object, required=False)), None),
    "media_unpublish": Spec((), None),
    "media_subscribe": Spec((MODE,), None),
    "media_mode": Spec((MODE,), None),
    "media_answer": Spec((SDP,), None),
    "media_ice": Spec(
        (
            Field("direction", str, choices=("publish", "subscribe")),
            Field("candidate", object, required=False),
        ),
        None,
    ),
    "media_receiving": Spec((), None),
    "learner_attach": Spec((PID, Field("student_id", str)), None, teacher_only=True),
}


def spec_for(event: str) -> Spec:
    spec = EVENTS.get(event) if isinstance(event, str) else None
    if spec is None:
        raise Refused("unknown-event", f"There is no event called '{str(event)[:40]}'.")
    return spec
