"""A lesson's life: it starts, ends (by the teacher or left running), and outlives restarts."""

from __future__ import annotations

from core import commands as c
from core import events as e
from core.errors import Refused
from core.polls import closed_at_end
from core.recording import at_end, at_start
from core.roster import set_presence
from core.state import ACTIVE, Actor, LessonState, require_live, require_teacher
from core.tables import Decision, decider, feature, fold


def start_lesson(state: LessonState, actor: Actor, cmd: c.StartLesson, now: int) -> Decision:
    require_teacher(actor)
    if state.status == "live":
        raise Refused("lesson-already-started", "The lesson has already started.")
    if state.status == "ended":
        raise Refused("lesson-ended", "The lesson has ended.")
    times = sorted(cmd.check_times_ms)
    started = e.LessonStarted(cmd.title, cmd.teacher_id, cmd.allow_guests, times)
    return Decision([started, *at_start(state)])


def end_lesson(state: LessonState, actor: Actor, cmd: c.EndLesson, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    leaving = [
        e.ParticipantLeft(p.id, "lesson-ended")
        for p in state.participants.values()
        if p.presence in (*ACTIVE, "waiting")
    ]
    closing: list[e.Event] = [e.CheckClosed(ch.id) for ch in state.checks if not ch.closed]
    closing += closed_at_end(state)
    return Decision([*closing, *at_end(state), *leaving, e.LessonEnded(cmd.reason)])


def note_restart(state: LessonState, actor: Actor, cmd: c.NoteRestart, now: int) -> Decision:
    require_teacher(actor)
    gone = any(p.presence == "present" for p in state.participants.values())
    if state.status != "live" or not gone:
        return Decision()
    return Decision([e.ServerRestarted(cmd.down_since_ms)])


def due(state: LessonState, now_ms: int) -> list[c.Command]:
    """End a lesson left running: its teacher gone for a while, or far past its length."""
    rules = state.rules
    if state.status != "live" or state.started_ms is None:
        return []
    if rules.auto_end_after_ms and now_ms - state.started_ms >= rules.auto_end_after_ms:
        return [c.EndLesson("overran")]
    away = _teacher_away_ms(state, now_ms)
    if rules.auto_end_no_teacher_ms and away >= rules.auto_end_no_teacher_ms:
        return [c.EndLesson("no-teacher")]
    return []


def _teacher_away_ms(state: LessonState, now_ms: int) -> int:
    teachers = [p for p in state.participants.values() if p.role == "teacher"]
    if any(p.presence == "present" for p in teachers):
        return 0
    since = max([state.started_ms or now_ms, *(p.since_ms for p in teachers)])
    return now_ms - since


def lesson_started(state: LessonState, ev: e.LessonStarted, ts: int) -> None:
    state.status, state.title, state.teacher_id = "live", ev.title, ev.teacher_id
    state.allow_guests, state.started_ms = ev.allow_guests, ts
    state.check_times = list(ev.check_times_ms)


def lesson_ended(state: LessonState, ev: e.LessonEnded, ts: int) -> None:
    state.status, state.end_reason, state.ended_ms = "ended", ev.reason, ts
    state.hands.clear()


def server_restarted(state: LessonState, ev: e.ServerRestarted, ts: int) -> None:
    for p in state.participants.values():
        if p.presence == "present":
            set_presence(state, p, "away", ts)
            p.gap_from_ms, p.gap_reason = ev.down_since_ms, "server"


FEATURE = feature(
    "lifecycle",
    deciders=[
        decider(c.StartLesson, start_lesson),
        decider(c.EndLesson, end_lesson),
        decider(c.NoteRestart, note_restart),
    ],
    folds=[
        fold(e.LessonStarted, lesson_started),
        fold(e.LessonEnded, lesson_ended),
        fold(e.ServerRestarted, server_restarted),
    ],
)
