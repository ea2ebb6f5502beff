"""The lesson protocol in one table: what clients send (fields, envelope, handler), what they get.

docs/protocol.md, client/sabak_client.py and the pages (client/web/js) are checked against
these two tables by tests/test_protocol_table.py, in both directions.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core import commands as c
from core.errors import Refused
from core.whiteboard import MAX_WIDTH, MIN_WIDTH, PALETTE, SPACE, TOOLS
from signaling.schema import Field, Spec

MAX_TEXT = 20_000  # a bound on the wire; the lesson's own limit is enforced by the core


class Handler(enum.Enum):
    """Who answers an event: the lesson core, or the namespace for what is not a command."""

    RUN = "the lesson core decides a command; what it changes is stored, then acked"
    LEAVE = "the learner named, or everyone on the device, leaves"
    BEAT = "nothing: the namespace notes when it last heard the connection"
    JOIN = "the connection enters its lesson"
    LEARNER_ADD = "another learner joins on this device with their own link"
    LEARNER_ATTACH = "the teacher puts a roster student on a device in the lesson"
    QUIZ_RESULT = "a quiz's results, read from the lesson"
    MEDIA = "WebRTC signaling, answered by the lesson's media worker"
    BOARD_SHOW = "the deck store says the deck's pages, then the lesson core decides"
    POINTER = "the laser pointer: sent on to everyone, coalesced, never stored"


# The envelope: fields that say how an event is delivered, not what it asks.
LEARNER = Field("learner", str, required=False, nullable=True)  # which learner on the device
CLIENT_ID = Field("client_id", str)  # exactly once: a retry with the same id gets the first ack


@dataclass(frozen=True)
class Call:
    """One event, parsed: the learner it is for (None: the device's own) and its fields."""

    event: str
    learner: str | None
    data: dict[str, Any]
    build: Callable[..., c.Command] | None = None

    def command(self) -> c.Command:
        assert self.build is not None, self.event
        return self.build(**self.data)


@dataclass(frozen=True)
class Inbound:
    """A client-to-server event: its fields, what handles it, who may send it."""

    name: str
    fields: tuple[Field, ...] = ()
    handler: Handler = Handler.RUN
    build: Callable[..., c.Command] | None = None  # RUN: the command the fields become
    teacher_only: bool = False
    once: bool = False  # carries CLIENT_ID: stored exactly once however often it is sent
    schema: Spec = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if (self.handler is Handler.RUN) != (self.build is not None):
            raise ValueError(f"'{self.name}': a command event needs its command, others none")
        envelope = (LEARNER, CLIENT_ID) if self.once else (LEARNER,)
        object.__setattr__(self, "schema", Spec(envelope + self.fields))

    def parse(self, payload: Any) -> Call:
        data = self.schema.parse(payload)
        return Call(self.name, data.pop(LEARNER.name, None), data, self.build)


def _open_poll(options: list[str] | tuple[str, ...] = (), **fields: Any) -> c.Command:
    return c.OpenPoll(options=tuple(options), **fields)


def _add_stroke(points: list[int], **fields: Any) -> c.Command:
    return c.AddStroke(points=tuple(points), **fields)


def _start_quiz(questions: list[dict[str, Any]], **fields: Any) -> c.Command:
    # The seed of the learners' orders is the server's to choose, never the client's.
    specs = tuple(c.QuestionSpec(**q) for q in questions)
    return c.StartQuiz(questions=specs, seed=secrets.token_hex(16), **fields)


PID = Field("participant_id", str)
POLL = Field("poll_id", int, maximum=10_000)
QUIZ = Field("quiz_id", int, maximum=10_000)
CHECK = Field("check_id", int)
SDP = Field("sdp", str, max_len=30_000)
MODE = Field("mode", str, choices=("none", "audio", "video"))
CHOICES = Field("options", list, required=False, items=str, max_len=200, max_items=12)
QUESTION = Spec(
    (
        Field("kind", str, choices=("single", "multiple", "number")),
        Field("text", str, max_len=1000),
        CHOICES,
        Field("correct", list, items=float, minimum=-1e12, maximum=1e12, max_items=12),
        Field("points", int, required=False, minimum=0, maximum=100),
        Field("limit_s", float, required=False, minimum=5, maximum=3600),
    )
)
POLL_FIELDS = (
    Field("kind", str, choices=("single", "multiple", "yesno", "text", "number")),
    Field("question", str, max_len=500),
    CHOICES,
    Field("anonymous", bool, required=False),
    Field("changeable", bool, required=False),
    Field("guests", bool, required=False),
    Field("abstain", bool, required=False),
    Field("number_min", float, required=False, minimum=-1e12, maximum=1e12),
    Field("number_max", float, required=False, minimum=-1e12, maximum=1e12),
)
QUIZ_FIELDS = (
    Field("title", str, max_len=200),
    Field("mode", str, required=False, choices=("whole", "per_question")),
    Field("limit_s", float, required=False, minimum=5, maximum=4 * 3600),
    Field("questions", list, items=QUESTION, max_items=100),
)
CHAT = (
    Field("text", str, max_len=MAX_TEXT),
    Field("to", str, required=False, choices=("all", "teacher", "participant")),
    Field("participant_id", str, required=False),  # with to="participant": the teacher's reply
)
ICE = (
    Field("direction", str, choices=("publish", "subscribe")),
    Field("candidate", object, required=False),
)
STROKE = (
    Field("points", list, items=int, minimum=0, maximum=SPACE, max_items=2000),
    Field("color", str, required=False, choices=PALETTE),
    Field("width", int, required=False, minimum=MIN_WIDTH, maximum=MAX_WIDTH),
    Field("tool", str, required=False, choices=TOOLS),
)
SPOT = (  # null, null: the pointer is hidden
    Field("x", int, nullable=True, minimum=0, maximum=SPACE),
    Field("y", int, nullable=True, minimum=0, maximum=SPACE),
)
H = Handler

INBOUND: dict[str, Inbound] = {
    i.name: i
    for i in (
        Inbound("join", (Field("lesson_id", str, required=False),), H.JOIN),
        Inbound("leave", (), H.LEAVE),
        Inbound("beat", (), H.BEAT),
        Inbound("visibility", (Field("visible", bool), Field("listening", bool, required=False)),
                build=c.SetVisibility),
        Inbound("learner_add", (Field("token", str, max_len=4096),), H.LEARNER_ADD),
        Inbound("learner_attach", (PID, Field("student_id", str)), H.LEARNER_ATTACH,
                teacher_only=True),
        Inbound("chat_send", CHAT, build=c.SendChat, once=True),
        Inbound("chat_delete", (Field("message_id", int),), build=c.DeleteChat, teacher_only=True),
        Inbound("chat_lock", (Field("locked", bool),), build=c.LockChat, teacher_only=True),
        Inbound("chat_mute", (PID, Field("muted", bool)), build=c.MuteChat, teacher_only=True),
        Inbound("participant_remove", (PID,), build=c.RemoveParticipant, teacher_only=True),
        Inbound("hand_raise", (), build=c.RaiseHand),
        Inbound("hand_lower", (Field("participant_id", str, required=False),), build=c.LowerHand),
        Inbound("guest_admit", (PID,), build=c.AdmitGuest, teacher_only=True),
        Inbound("guest_deny", (PID,), build=c.DenyGuest, teacher_only=True),
        Inbound("guest_entry", (Field("open", bool),), build=c.SetGuestEntry, teacher_only=True),
        Inbound("lesson_end", (), build=c.EndLesson, teacher_only=True),
        Inbound("check_start", (Field("window_s", int, required=False, minimum=5, maximum=3600),),
                build=c.StartCheck, teacher_only=True),
        Inbound("check_answer", (CHECK,), build=c.AnswerCheck),
        Inbound("check_close", (CHECK,), build=c.CloseCheck, teacher_only=True),
        Inbound("poll_open", POLL_FIELDS, build=_open_poll, teacher_only=True),
        Inbound("poll_answer", (POLL, Field("answer", object)), build=c.AnswerPoll),
        Inbound("poll_close", (POLL,), build=c.ClosePoll, teacher_only=True),
        Inbound("poll_publish", (POLL, Field("with_names", bool, required=False)),
                build=c.PublishPoll, teacher_only=True),
        Inbound("quiz_start", QUIZ_FIELDS, build=_start_quiz, teacher_only=True),
        Inbound("quiz_next", (QUIZ,), build=c.NextQuestion),
        Inbound("quiz_answer", (QUIZ, Field("position", int, maximum=100), Field("answer", object)),
                build=c.AnswerQuiz),
        Inbound("quiz_close", (QUIZ,), build=c.CloseQuiz, teacher_only=True),
        Inbound("quiz_publish", (QUIZ,), build=c.PublishQuiz, teacher_only=True),
        Inbound("quiz_result", (QUIZ,), H.QUIZ_RESULT),
        Inbound("floor_give", (PID, Field("camera", bool, required=False)), build=c.GiveFloor,
                teacher_only=True),
        Inbound("floor_take", (PID,), build=c.TakeFloor, teacher_only=True),
        Inbound("floor_answer", (Field("accept", bool),), build=c.AnswerFloor),
        Inbound("recording_start", (), build=c.StartRecording, teacher_only=True),
        Inbound("recording_stop", (), build=c.StopRecording, teacher_only=True),
        Inbound("board_show", (Field("deck", str, required=False, nullable=True, max_len=64),
                Field("page", int, required=False, maximum=10_000)), H.BOARD_SHOW,
                teacher_only=True),
        Inbound("board_turn", (Field("page", int, maximum=10_000),), build=c.TurnPage,
                teacher_only=True),
        Inbound("board_stroke", STROKE, build=_add_stroke, once=True),
        Inbound("board_undo", (), build=c.UndoStroke),
        Inbound("board_clear", (), build=c.ClearBoard, teacher_only=True),
        Inbound("board_floor_draw", (Field("allowed", bool),), build=c.AllowFloorDrawing,
                teacher_only=True),
        Inbound("board_pointer", SPOT, H.POINTER),
        Inbound("media_publish", (SDP, Field("track_kinds", object, required=False)), H.MEDIA),
        Inbound("media_unpublish", (), H.MEDIA),
        Inbound("media_subscribe", (MODE,), H.MEDIA),
        Inbound("media_mode", (MODE,), H.MEDIA),
        Inbound("media_answer", (SDP,), H.MEDIA),
        Inbound("media_ice", ICE, H.MEDIA),
        Inbound("media_receiving", (), H.MEDIA),
    )
}  # fmt: skip


def inbound(event: Any) -> Inbound:
    """The declared event of this name, or Refused('unknown-event')."""
    found = INBOUND.get(event) if isinstance(event, str) else None
    if found is None:
        raise Refused("unknown-event", f"There is no event called '{str(event)[:40]}'.")
    return found


# -- server to client ---------------------------------------------------------------------------
# A shape maps each field to its type: a JSON type, a nested shape, [item] for a list, or a tuple
# of alternatives ((int, None): a number or null). A name ending in "?" may be left out.
Shape = dict[str, Any]


@dataclass(frozen=True)
class Outbound:
    """A server-to-client message: who gets it, and the fields of its payload."""

    name: str
    to: str
    shape: Shape


PARTICIPANT: Shape = {"id": str, "name": str, "role": str, "presence": str,
                      "visible": bool, "listening": bool, "chat_muted": bool,
                      "device": (str, None)}  # fmt: skip
CHAT_MESSAGE: Shape = {"id": int, "author_id": str, "author_name": str, "text": str,
                       "to": str, "recipient_id": (str, None), "ts": int}  # fmt: skip
HOLDER: Shape = {"participant_id": str, "camera": bool}
CHECK_TALLY: Shape = {"check_id": int, "started_at": int, "deadline": int, "closed": bool,
                      "answered": int, "expected": int}  # fmt: skip
POLL_VIEW: Shape = {"poll_id": int, "kind": str, "question": str, "options": [str],
                    "anonymous": bool, "changeable": bool, "closed": bool,
                    "number_min": (float, None), "number_max": (float, None)}  # fmt: skip
SUMMARY: Shape = {"min": float, "max": float, "mean": float, "median": float}
POLL_TALLY: Shape = {"poll_id": int, "answered": int,
                     "counts?": [int], "summary?": SUMMARY, "texts?": [str]}  # fmt: skip
POLL_RESULTS: Shape = {**POLL_TALLY, "names?": [{"name": str, "answer": object}]}
QUIZ_VIEW: Shape = {"quiz_id": int, "title": str, "mode": str, "questions": int,
                    "started_at": int, "closed": bool, "published": bool,
                    "deadline?": int}  # fmt: skip
QUIZ_TALLY: Shape = {"quiz_id": int, "closed": bool, "learners": int, "answers": dict}
RECORDING: Shape = {"state": str, "since": (int, None), "reason": str}
STROKE_VIEW: Shape = {"id": int, "client_id": str, "author_id": str, "points": [int],
                      "color": str, "width": int, "tool": str}  # fmt: skip
BOARD: Shape = {"deck": (str, None), "page": int, "pages": int, "title": str, "board": str,
                "floor_draw": bool, "strokes": [STROKE_VIEW]}  # fmt: skip
SNAPSHOT: Shape = {
    "lesson": {"id": str, "title": str, "status": str, "chat_locked": bool,
               "guests_open": bool, "started_at": (int, None)},
    "you": {**PARTICIPANT, "hand_position": (int, None)},
    "present_count": int,
    "present_learners": int,
    "checks": [{"check_id": int, "result": str, "response_ms": (int, None)}],
    "open_check": ({"check_id": int, "deadline": int}, None),
    "polls": [{**POLL_VIEW, "my_answer?": object, "results?": POLL_RESULTS}],
    "quizzes": [QUIZ_VIEW],
    "floor": [HOLDER],
    "floor_offers": [HOLDER],
    "chat": [CHAT_MESSAGE],
    "recording": RECORDING,
    "board": (BOARD, None),
    "seq": int,
    "participants?": [PARTICIPANT],  # the rest: teachers only
    "hands?": [{"id": str, "name": str}],
    "check_tallies?": [CHECK_TALLY],
    "poll_tallies?": [POLL_TALLY],
    "quiz_tallies?": [QUIZ_TALLY],
}  # fmt: skip
ICE_SERVERS: Shape = {"ice_servers": [dict]}
MISSED: Shape = {"from_ms": int, "to_ms": int, "url": str}  # "what I missed" (catch-up)
WELCOME: Shape = {"waiting": bool, "snapshot?": SNAPSHOT, "you?": PARTICIPANT, "resume": str,
                  "heartbeat_s": float, **ICE_SERVERS, "missed?": MISSED}  # fmt: skip
GONE: Shape = {"participant_id": str, "reason": str}

OUTBOUND: dict[str, Outbound] = {
    o.name: o
    for o in (
        Outbound("participant", "teachers", PARTICIPANT),
        Outbound("count", "everyone", {"present": int, "learners": int}),
        Outbound("chat", "everyone; or the teachers and the author; or the teachers and the one",
                 CHAT_MESSAGE),
        Outbound("chat_deleted", "everyone", {"id": int}),
        Outbound("chat_locked", "everyone", {"locked": bool}),
        Outbound("guest_entry", "teachers", {"open": bool}),
        Outbound("chat_muted", "the participant", {"participant_id": str, "muted": bool}),
        Outbound("hands", "teachers", {"queue": [{"id": str, "name": str}]}),
        Outbound("hand", "the participant",
                 {"participant_id": str, "raised": bool, "position": (int, None)}),
        Outbound("admitted", "the participant", {**SNAPSHOT, **ICE_SERVERS}),
        Outbound("removed", "the participant", GONE),
        Outbound("lesson_ended", "everyone", {"reason": str}),
        Outbound("revoked", "the person's devices", GONE),
        Outbound("replaced", "the older device", GONE),
        Outbound("check_started", "everyone",
                 {"check_id": int, "deadline": int, "started_at": int}),
        Outbound("check_closed", "everyone", {"check_id": int}),
        Outbound("check_tally", "teachers", CHECK_TALLY),
        Outbound("learner_added", "the device", WELCOME),
        Outbound("poll_opened", "everyone", POLL_VIEW),
        Outbound("poll_tally", "teachers", POLL_TALLY),
        Outbound("poll_closed", "everyone", {"poll_id": int}),
        Outbound("poll_results", "everyone", POLL_RESULTS),
        Outbound("quiz_started", "everyone", QUIZ_VIEW),
        Outbound("quiz_tally", "teachers", QUIZ_TALLY),
        Outbound("quiz_extended", "the participant", {"participant_id": str, "quiz_id": int,
                 "position": int, "extra_ms": int, "deadline": int}),
        Outbound("quiz_closed", "everyone", {"quiz_id": int}),
        Outbound("quiz_published", "everyone", {"quiz_id": int}),
        Outbound("floor", "everyone",
                 {"participant_id": str, "camera": bool, "given": bool, "state": str}),
        Outbound("media_restart", "everyone", {}),
        Outbound("recording", "everyone", RECORDING),
        Outbound("board", "everyone", BOARD),
        Outbound("stroke", "everyone", {"board": str, **STROKE_VIEW}),
        Outbound("stroke_undone", "everyone", {"board": str, "stroke_id": int}),
        Outbound("board_draw", "everyone", {"allowed": bool}),
        Outbound("pointer", "everyone", {"board": str, "x": (int, None), "y": (int, None)}),
        Outbound("media_link", "the participant", {"sound_only": bool}),
    )
}  # fmt: skip
