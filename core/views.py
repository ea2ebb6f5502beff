"""Who sees what: the snapshot each participant gets, and the messages each event sends."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import events as e
from core import recording
from core.lesson import ChatMessage, Lesson
from core.poll import Poll
from core.quiz import Quiz

ALL = "all"
TEACHERS = "teachers"


@dataclass(frozen=True)
class Outgoing:
    """One server-to-client message: audience is ALL, TEACHERS or a participant id.

    A payload may be a function: it is then computed only when the message is really sent,
    so coalesced counts and tallies cost nothing for the events that are not sent.
    """

    audience: str
    name: str
    payload: dict[str, Any] | Callable[[], dict[str, Any]]

    def body(self) -> dict[str, Any]:
        return self.payload() if callable(self.payload) else self.payload


def present_count(lesson: Lesson) -> int:
    return lesson.present_count  # kept by the fold: a join must not count everyone again


def count_view(lesson: Lesson) -> dict[str, int]:
    """Everyone present, and the learners among them (what a student's "in lesson" shows)."""
    return {"present": lesson.present_count, "learners": lesson.present_learners}


def visible_to(lesson: Lesson, msg: ChatMessage, viewer_id: str) -> bool:
    if msg.deleted:
        return False
    if msg.to == "all" or viewer_id in (msg.author_id, msg.recipient_id):
        return True
    viewer = lesson.participants.get(viewer_id)
    return viewer is not None and viewer.role == "teacher"


def hand_queue(lesson: Lesson) -> list[dict[str, str]]:
    return [{"id": pid, "name": lesson.participants[pid].name} for pid in lesson.hands]


def snapshot(lesson: Lesson, viewer_id: str) -> dict[str, Any]:
    """Everything a (re)joining participant needs, filtered by their role."""
    me = lesson.participants[viewer_id]
    chat = [m.view() for m in lesson.chat if visible_to(lesson, m, viewer_id)]
    view: dict[str, Any] = {
        "lesson": {
            "id": lesson.id,
            "title": lesson.title,
            "status": lesson.status,
            "chat_locked": lesson.chat_locked,
            "guests_open": lesson.guests_open,
            "started_at": lesson.started_ms,
        },
        "you": {**me.view(), "hand_position": lesson.hand_position(viewer_id)},
        "present_count": present_count(lesson),
        "present_learners": lesson.present_learners,
        "checks": lesson.my_checks(viewer_id),
        "open_check": _open_check(lesson),
        "polls": [
            _poll_for(lesson, p, viewer_id)
            for p in lesson.polls
            if not p.closed or p.published or me.role == "teacher"
        ],
        "quizzes": [quiz_view(q, viewer_id) for q in lesson.quizzes],
        "floor": [{"participant_id": pid, "camera": cam} for pid, cam in lesson.floor.items()],
        "floor_offers": [
            {"participant_id": pid, "camera": cam} for pid, cam in lesson.floor_offers.items()
        ],
        "chat": chat[-lesson.rules.chat_history_replay :]
        if lesson.rules.chat_history_replay
        else [],
        "recording": recording.view(lesson),
        "seq": lesson.seq,
    }
    if me.role == "teacher":
        view["participants"] = [p.view() for p in lesson.participants.values()]
        view["hands"] = hand_queue(lesson)
        view["check_tallies"] = lesson.check_tallies(lesson.checks)
        view["poll_tallies"] = [p.tally() for p in lesson.polls]
        view["quiz_tallies"] = [quiz_tally(q) for q in lesson.quizzes]
    return view


def _poll_for(lesson: Lesson, poll: Poll, viewer_id: str) -> dict[str, Any]:
    view = poll.view()
    if not poll.anonymous:  # an anonymous ballot cannot be found again, by design
        view["my_answer"] = poll.answers.get(viewer_id)
    if poll.published:
        view["results"] = lesson.poll_results(poll)
    return view


def _open_check(lesson: Lesson) -> dict[str, int] | None:
    check = lesson.open_check()
    return {"check_id": check.id, "deadline": check.deadline_ms} if check else None


def outgoing(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    """The messages one applied event sends (call after the event is applied and stored)."""
    fan = _FANOUT.get(type(record.event))
    return fan(lesson, record) if fan else []


def _pid(event: e.Event) -> str:
    return str(vars(event)["participant_id"])


def _participant_changed(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    pid = _pid(record.event)
    out = [
        Outgoing(TEACHERS, "participant", lesson.participants[pid].view()),
        Outgoing(ALL, "count", lambda: count_view(lesson)),
    ]
    ev = record.event
    if isinstance(ev, e.ParticipantLeft) and ev.reason in ("removed", "denied"):
        out.append(Outgoing(pid, "removed", {"participant_id": pid, "reason": ev.reason}))
    if isinstance(ev, e.GuestAdmitted):
        out.append(Outgoing(pid, "admitted", snapshot(lesson, pid)))
    return out + _hands_if_changed(lesson, record)


def _hands_if_changed(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    ev = record.event
    if not isinstance(ev, (e.HandRaised, e.HandLowered, e.ParticipantLeft, e.ParticipantTimedOut)):
        return []
    out = [Outgoing(TEACHERS, "hands", {"queue": hand_queue(lesson)})]
    if not isinstance(ev, e.HandRaised):
        # A hand gone moves the ones after it up: each phone must learn its new place. The
        # old place is no longer known here, so every hand still up is told (a short queue).
        out += [Outgoing(pid, "hand", _hand_view(lesson, pid)) for pid in lesson.hands]
    return out


def _hand_view(lesson: Lesson, pid: str) -> dict[str, Any]:
    return {"participant_id": pid, "raised": pid in lesson.hands,
            "position": lesson.hand_position(pid)}  # fmt: skip


def _hand_changed(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    pid = _pid(record.event)
    return [Outgoing(pid, "hand", _hand_view(lesson, pid)), *_hands_if_changed(lesson, record)]


def _chat_posted(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    ev = record.event
    assert isinstance(ev, e.ChatPosted)
    view = lesson.chat[ev.message_id - 1].view()
    if ev.to == "all":
        return [Outgoing(ALL, "chat", view)]
    other = ev.recipient_id if ev.to == "participant" else ev.author_id
    assert other is not None
    return [Outgoing(TEACHERS, "chat", view), Outgoing(other, "chat", view)]


def _everyone_changed(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    roster = [Outgoing(TEACHERS, "participant", p.view()) for p in lesson.participants.values()]
    return [*roster, Outgoing(ALL, "count", lambda: count_view(lesson))]


def _visibility(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    return [Outgoing(TEACHERS, "participant", lesson.participants[_pid(record.event)].view())]


def _check_started(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    ev = record.event
    assert isinstance(ev, e.CheckStarted)
    check = lesson.checks[ev.check_id - 1]
    prompt = {"check_id": check.id, "deadline": check.deadline_ms, "started_at": record.ts_ms}
    tally = functools.partial(lesson.check_tally, check)
    return [Outgoing(ALL, "check_started", prompt), Outgoing(TEACHERS, "check_tally", tally)]


def _check_changed(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    check = lesson.checks[vars(record.event)["check_id"] - 1]
    out = [Outgoing(TEACHERS, "check_tally", functools.partial(lesson.check_tally, check))]
    if check.closed:
        out.append(Outgoing(ALL, "check_closed", {"check_id": check.id}))
    return out


def _simple(name: str, payload: Callable[[Any], dict[str, Any]], audience: str = ALL) -> Any:
    return lambda lesson, record: [Outgoing(audience, name, payload(record.event))]


def _muted(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    ev = record.event
    assert isinstance(ev, e.ChatMuted)
    payload = {"participant_id": ev.participant_id, "muted": ev.muted}
    return [
        Outgoing(TEACHERS, "participant", lesson.participants[ev.participant_id].view()),
        Outgoing(ev.participant_id, "chat_muted", payload),
    ]


_FANOUT: dict[type[e.Event], Callable[[Lesson, e.Record], list[Outgoing]]] = {
    e.ParticipantJoined: _participant_changed,
    e.ParticipantLeft: _participant_changed,
    e.GuestWaiting: _participant_changed,
    e.LearnerErased: _participant_changed,
    e.GuestAdmitted: _participant_changed,
    e.ChatPosted: _chat_posted,
    e.ChatDeleted: _simple("chat_deleted", lambda ev: {"id": ev.message_id}),
    e.ChatLocked: _simple("chat_locked", lambda ev: {"locked": ev.locked}),
    e.GuestEntryChanged: _simple("guest_entry", lambda ev: {"open": ev.open}, TEACHERS),
    e.ChatMuted: _muted,
    e.HandRaised: _hand_changed,
    e.HandLowered: _hand_changed,
    e.LessonEnded: _simple("lesson_ended", lambda ev: {"reason": ev.reason}),
    e.ParticipantTimedOut: _participant_changed,
    e.VisibilityChanged: _visibility,
    e.ServerRestarted: _everyone_changed,
    e.CheckStarted: _check_started,
    e.CheckAnswered: _check_changed,
    e.CheckClosed: _check_changed,
}


# -- polls and quizzes ------------------------------------------------------------------------


def _poll(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    poll = lesson.polls[vars(record.event)["poll_id"] - 1]
    tally = Outgoing(TEACHERS, "poll_tally", poll.tally)
    ev = record.event
    if isinstance(ev, e.PollOpened):
        return [Outgoing(ALL, "poll_opened", poll.view()), tally]
    if isinstance(ev, e.PollClosed):
        return [Outgoing(ALL, "poll_closed", {"poll_id": poll.id}), tally]
    if isinstance(ev, e.PollPublished):
        return [Outgoing(ALL, "poll_results", lesson.poll_results(poll))]
    return [tally]


def quiz_tally(quiz: Quiz) -> dict[str, Any]:
    per_question = {q.id: 0 for q in quiz.questions}
    for learner in quiz.learners.values():
        for qid in learner.answers:
            per_question[qid] += 1
    started = sum(1 for learner in quiz.learners.values() if learner.answers or learner.shown)
    return {"quiz_id": quiz.id, "closed": quiz.closed, "learners": started,
            "answers": per_question}  # fmt: skip


def quiz_view(quiz: Quiz, viewer_id: str) -> dict[str, Any]:
    view = {"quiz_id": quiz.id, "title": quiz.title, "mode": quiz.mode,
            "questions": len(quiz.questions), "started_at": quiz.started_ms,
            "closed": quiz.closed, "published": quiz.published}  # fmt: skip
    if quiz.mode == "whole":
        view["deadline"] = quiz.deadline(viewer_id, 1)
    return view


def quiz_results(lesson: Lesson, quiz: Quiz) -> dict[str, Any]:
    """The teacher's view: every learner's score and each question's statistics."""
    scores = {pid: quiz.score(pid) for pid in quiz.learners}
    stats = [
        {"id": q.id, "text": q.text,
         "answered": sum(1 for lr in quiz.learners.values() if q.id in lr.answers),
         "correct": sum(1 for s in scores.values() if s["marks"][q.id] == q.points and q.points)}
        for q in quiz.questions
    ]  # fmt: skip
    named = [
        {"participant_id": pid, "name": lesson.participants[pid].name, **score}
        for pid, score in scores.items()
    ]
    return {"quiz_id": quiz.id, "title": quiz.title, "questions": stats, "learners": named}


def _quiz(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    ev = record.event
    quiz = lesson.quizzes[vars(ev)["quiz_id"] - 1]
    tally = Outgoing(TEACHERS, "quiz_tally", lambda: quiz_tally(quiz))
    if isinstance(ev, e.QuizStarted):
        return [Outgoing(ALL, "quiz_started", quiz_view(quiz, "")), tally]
    if isinstance(ev, e.QuizTimeExtended):
        position = ev.position or 1
        extended = {"participant_id": ev.participant_id, "quiz_id": quiz.id,
                    "position": ev.position, "extra_ms": ev.extra_ms,
                    "deadline": quiz.deadline(ev.participant_id, position)}  # fmt: skip
        return [Outgoing(ev.participant_id, "quiz_extended", extended)]
    if isinstance(ev, e.QuizClosed):
        return [Outgoing(ALL, "quiz_closed", {"quiz_id": quiz.id}), tally]
    if isinstance(ev, e.QuizPublished):
        return [Outgoing(ALL, "quiz_published", {"quiz_id": quiz.id})]
    return [tally]


_POLL_EVENTS: tuple[type[e.Event], ...] = (
    e.PollOpened,
    e.PollAnswered,
    e.PollBallotCast,
    e.PollBallotsCounted,
    e.PollClosed,
    e.PollPublished,
)
_QUIZ_EVENTS: tuple[type[e.Event], ...] = (
    e.QuizStarted,
    e.QuizQuestionShown,
    e.QuizAnswered,
    e.QuizTimeExtended,
    e.QuizClosed,
    e.QuizPublished,
)
_FLOOR_STATES: dict[type[e.Event], str] = {
    e.FloorOffered: "offered",
    e.FloorGiven: "given",
    e.FloorDeclined: "declined",
    e.FloorTaken: "taken",
}


def _floor(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    """`given`: holds the floor now; `camera`: what is offered, or else what is held."""
    ev, pid = record.event, _pid(record.event)
    camera = ev.camera if isinstance(ev, e.FloorOffered) else lesson.floor.get(pid, False)
    state = _FLOOR_STATES[type(ev)]
    body = {"participant_id": pid, "camera": camera, "given": pid in lesson.floor, "state": state}
    return [Outgoing(ALL, "floor", body)]


def _recording(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    """Everyone is told plainly whether the lesson is being recorded."""
    return [Outgoing(ALL, "recording", recording.view(lesson))]


_FANOUT.update({kind: _floor for kind in _FLOOR_STATES})
_FANOUT.update(
    {kind: _recording for kind in (e.RecordingStarted, e.RecordingStopped, e.RecordingFailed)}
)
_FANOUT.update({kind: _poll for kind in _POLL_EVENTS})
_FANOUT.update({kind: _quiz for kind in _QUIZ_EVENTS})
