"""Attendance checks: an announced prompt every present learner confirms within a window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from core import commands as c
from core import events as e
from core.check import (
    EDGE_MS,
    Check,
    CheckResult,
    Window,
    check_verdict,
    check_window,
    draw_check_times,
)
from core.errors import Refused
from core.presence import Span
from core.state import Actor, LessonState, require_live, require_present, require_teacher
from core.tables import Decision, decider, feature, fold

__all__ = [
    "EDGE_MS",
    "FEATURE",
    "Check",
    "CheckResult",
    "Window",
    "check_verdict",
    "check_window",
    "draw_check_times",
]


def open_check(state: LessonState) -> Check | None:
    return state.checks[-1] if state.checks and not state.checks[-1].closed else None


def attended(state: LessonState) -> dict[str, list[Span]]:
    """Every learner's stretches in the lesson so far."""
    timelines = state.attendance.timelines.values()
    return {t.participant_id: t.attending() for t in timelines if t.role != "teacher"}


def check_expected(check: Check, attended: dict[str, list[Span]]) -> set[str]:
    """The learners the check counts: those it does not find not present."""
    window = check.window
    return {
        pid
        for pid, spans in attended.items()
        if check_verdict(pid in check.answers, window, spans) != "not-present"
    }


def check_tallies(state: LessonState, checks: Sequence[Check]) -> list[dict[str, Any]]:
    spans = attended(state)  # once for all the checks: a timeline can be long
    return [ch.view(len(check_expected(ch, spans))) for ch in checks]


def my_checks(state: LessonState, pid: str) -> list[dict[str, Any]]:
    """A learner's own record: every check of the lesson and what it says of them."""
    timeline = state.attendance.timelines.get(pid)
    spans = timeline.attending() if timeline is not None else []
    return [
        {"check_id": ch.id, "result": _own_result(ch, pid, spans),
         "response_ms": ch.answers.get(pid)}
        for ch in state.checks
    ]  # fmt: skip


def _own_result(check: Check, pid: str, spans: list[Span]) -> CheckResult | Literal["open"]:
    """Open while the learner may still answer; then the verdict."""
    if not check.closed and pid not in check.answers:
        return "open"
    return check_verdict(pid in check.answers, check.window, spans)


def due(state: LessonState, now: int) -> list[c.Command]:
    check = open_check(state)
    if check is not None:
        return [c.CloseCheck(check.id)] if now >= check.deadline_ms else []
    pending = state.check_times[state.scheduled_started :]
    return [c.StartCheck(scheduled=True)] if pending and pending[0] <= now else []


def start_check(state: LessonState, actor: Actor, cmd: c.StartCheck, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    if open_check(state) is not None:
        raise Refused("check-open", "An attendance check is already running.")
    window_ms = int(cmd.window_s * 1000) if cmd.window_s else state.rules.check_window_ms
    check_id = len(state.checks) + 1
    event = e.CheckStarted(check_id, now + window_ms, cmd.scheduled)
    return Decision([event], {"check_id": check_id, "deadline": now + window_ms})


def answer_check(state: LessonState, actor: Actor, cmd: c.AnswerCheck, now: int) -> Decision:
    p = require_present(state, actor)
    check = _check(state, cmd.check_id)
    if p.id in check.answers:
        return Decision((), {"response_ms": check.answers[p.id], "duplicate": True})
    if check.closed or now > check.deadline_ms:
        raise Refused("check-closed", "This attendance check has closed.")
    if p.role == "teacher":
        raise Refused("forbidden", "The teacher does not answer attendance checks.")
    response_ms = now - check.started_ms
    event = e.CheckAnswered(check.id, p.id, response_ms)
    return Decision([event], {"response_ms": response_ms})


def close_check(state: LessonState, actor: Actor, cmd: c.CloseCheck, now: int) -> Decision:
    require_teacher(actor)
    if _check(state, cmd.check_id).closed:
        return Decision()
    return Decision([e.CheckClosed(cmd.check_id)])


def _check(state: LessonState, check_id: int) -> Check:
    if not 1 <= check_id <= len(state.checks):
        raise Refused("unknown-check", "There is no such attendance check.")
    return state.checks[check_id - 1]


def check_started(state: LessonState, ev: e.CheckStarted, ts: int) -> None:
    state.checks.append(Check(ev.check_id, ts, ev.deadline_ms, ev.scheduled))
    state.scheduled_started += ev.scheduled


def check_answered(state: LessonState, ev: e.CheckAnswered, ts: int) -> None:
    state.checks[ev.check_id - 1].answers[ev.participant_id] = ev.response_ms


def check_closed(state: LessonState, ev: e.CheckClosed, ts: int) -> None:
    state.checks[ev.check_id - 1].closed_ms = ts


FEATURE = feature(
    "checks",
    deciders=[
        decider(c.StartCheck, start_check),
        decider(c.AnswerCheck, answer_check),
        decider(c.CloseCheck, close_check),
    ],
    folds=[
        fold(e.CheckStarted, check_started),
        fold(e.CheckAnswered, check_answered),
        fold(e.CheckClosed, check_closed),
    ],
)
