"""Attendance checks: an announced prompt every present learner confirms within a window.

Also the one rule for what a check says of a learner (the phone and the report both use it)
and the draw of the random checks' moments.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from core import commands as c
from core import events as e
from core.errors import Refused
from core.presence import PresenceFold, Span
from core.state import Actor, LessonState

CheckResult = Literal["answered", "missed", "not-present"]
EDGE_MS = 5 * 60_000  # random checks keep this far from a lesson's start and planned end


@dataclass(frozen=True)
class Window:
    """The moments a check could be answered: from `start_ms` up to, not including, `end_ms`."""

    start_ms: int
    end_ms: int

    def holds(self, span: Span) -> bool:
        """Whether a stretch of attendance [start, end) shares a moment with the window."""
        return max(span[0], self.start_ms) < min(span[1], self.end_ms)


def check_window(started_ms: int, deadline_ms: int, closed_ms: int | None) -> Window:
    """From the start to the close or the deadline, whichever came first. An answer is taken
    at the deadline itself (so it is in the window) but not once the close is logged."""
    end = deadline_ms + 1
    return Window(started_ms, end if closed_ms is None else min(closed_ms, end))


def check_verdict(answered: bool, window: Window, attended: Sequence[Span]) -> CheckResult:
    """The one rule for what a check says of a learner, on the phone and in the report: a
    learner who did not answer missed it if they attended at some moment of its window.

    `attended` is in order of time, no two stretches overlapping (as a timeline gives them),
    so only the last stretch begun before the window's end can share a moment with it.
    """
    if answered:
        return "answered"
    last = bisect.bisect_left(attended, window.end_ms, key=lambda span: span[0]) - 1
    return "missed" if last >= 0 and window.holds(attended[last]) else "not-present"


def draw_check_times(
    start_ms: int, planned_ms: int, count: int, draw: random.Random
) -> tuple[int, ...]:
    """`count` distinct moments, unknown to anyone in advance, inside the planned lesson.

    They avoid the first and last five minutes (a quarter of a short lesson each), so that a
    check does not merely measure who was late or who left early.
    """
    margin = min(EDGE_MS, planned_ms // 4)
    offsets = draw.sample(range(margin, planned_ms - margin + 1), count)
    return tuple(sorted(start_ms + offset for offset in offsets))


@dataclass
class Check:
    id: int
    started_ms: int
    deadline_ms: int
    scheduled: bool
    answers: dict[str, int] = field(default_factory=dict)  # learner -> response time, ms
    closed_ms: int | None = None

    @property
    def closed(self) -> bool:
        return self.closed_ms is not None

    @property
    def window(self) -> Window:
        return check_window(self.started_ms, self.deadline_ms, self.closed_ms)

    def view(self, expected: int) -> dict[str, Any]:
        return {
            "check_id": self.id,
            "started_at": self.started_ms,
            "deadline": self.deadline_ms,
            "closed": self.closed,
            "answered": len(self.answers),
            "expected": expected,
        }


class ChecksMixin(LessonState):
    def init_checks(self) -> None:
        self.checks: list[Check] = []
        self.check_times: list[int] = []  # scheduled moments, chosen at lesson start
        self.scheduled_started = 0
        self.attendance = PresenceFold()  # who attended when, as the report will fold it

    def open_check(self) -> Check | None:
        return self.checks[-1] if self.checks and not self.checks[-1].closed else None

    def note_attendance(self, record: e.Record) -> None:
        self.attendance.add(record)

    def attended(self) -> dict[str, list[Span]]:
        """Every learner's stretches in the lesson so far."""
        timelines = self.attendance.timelines.values()
        return {t.participant_id: t.attending() for t in timelines if t.role != "teacher"}

    def check_expected(self, check: Check, attended: dict[str, list[Span]]) -> set[str]:
        """The learners the check counts: those it does not find not present."""
        window = check.window
        return {
            pid
            for pid, spans in attended.items()
            if check_verdict(pid in check.answers, window, spans) != "not-present"
        }

    def check_tallies(self, checks: Sequence[Check]) -> list[dict[str, Any]]:
        attended = self.attended()  # once for all the checks: a timeline can be long
        return [ch.view(len(self.check_expected(ch, attended))) for ch in checks]

    def check_tally(self, check: Check) -> dict[str, Any]:
        return self.check_tallies([check])[0]

    def _decide_start_check(self, actor: Actor, cmd: c.StartCheck, now: int) -> Any:
        self.require_teacher(actor)
        self.require_live()
        if self.open_check() is not None:
            raise Refused("check-open", "An attendance check is already running.")
        window_ms = int(cmd.window_s * 1000) if cmd.window_s else self.rules.check_window_ms
        check_id = len(self.checks) + 1
        event = e.CheckStarted(check_id, now + window_ms, cmd.scheduled)
        return [event], {"check_id": check_id, "deadline": now + window_ms}

    def _decide_answer_check(self, actor: Actor, cmd: c.AnswerCheck, now: int) -> Any:
        p = self.require_present(actor)
        if not 1 <= cmd.check_id <= len(self.checks):
            raise Refused("unknown-check", "There is no such attendance check.")
        check = self.checks[cmd.check_id - 1]
        if p.id in check.answers:
            return [], {"response_ms": check.answers[p.id], "duplicate": True}
        if check.closed or now > check.deadline_ms:
            raise Refused("check-closed", "This attendance check has closed.")
        if p.role == "teacher":
            raise Refused("forbidden", "The teacher does not answer attendance checks.")
        response_ms = now - check.started_ms
        event = e.CheckAnswered(check.id, p.id, response_ms)
        return [event], {"response_ms": response_ms}

    def _decide_close_check(self, actor: Actor, cmd: c.CloseCheck, now: int) -> Any:
        self.require_teacher(actor)
        if not 1 <= cmd.check_id <= len(self.checks):
            raise Refused("unknown-check", "There is no such attendance check.")
        if self.checks[cmd.check_id - 1].closed:
            return [], {}
        return [e.CheckClosed(cmd.check_id)], {}

    def checks_due(self, now: int) -> list[c.Command]:
        check = self.open_check()
        if check is not None:
            return [c.CloseCheck(check.id)] if now >= check.deadline_ms else []
        pending = self.check_times[self.scheduled_started :]
        return [c.StartCheck(scheduled=True)] if pending and pending[0] <= now else []

    def _apply_check_started(self, ev: e.CheckStarted, ts: int) -> None:
        self.checks.append(Check(ev.check_id, ts, ev.deadline_ms, ev.scheduled))
        self.scheduled_started += ev.scheduled

    def _apply_check_answered(self, ev: e.CheckAnswered, ts: int) -> None:
        self.checks[ev.check_id - 1].answers[ev.participant_id] = ev.response_ms

    def _apply_check_closed(self, ev: e.CheckClosed, ts: int) -> None:
        self.checks[ev.check_id - 1].closed_ms = ts

    def my_checks(self, pid: str) -> list[dict[str, Any]]:
        """A learner's own record: every check of the lesson and what it says of them."""
        timeline = self.attendance.timelines.get(pid)
        spans = timeline.attending() if timeline is not None else []
        return [
            {"check_id": ch.id, "result": _own_result(ch, pid, spans),
             "response_ms": ch.answers.get(pid)}
            for ch in self.checks
        ]  # fmt: skip


def _own_result(check: Check, pid: str, spans: list[Span]) -> CheckResult | Literal["open"]:
    """Open while the learner may still answer; then the verdict."""
    if not check.closed and pid not in check.answers:
        return "open"
    return check_verdict(pid in check.answers, check.window, spans)
