"""Attendance checks: an announced prompt every present learner confirms within a window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from server.classroom import commands as c
from server.classroom import events as e
from server.classroom.errors import Refused
from server.classroom.state import Actor, LessonState

CheckResult = Literal["answered", "missed", "not-present"]


@dataclass
class Check:
    id: int
    started_ms: int
    deadline_ms: int
    scheduled: bool
    eligible: set[str] = field(default_factory=set)  # learners present during the window
    answers: dict[str, int] = field(default_factory=dict)  # learner -> response time, ms
    closed: bool = False

    def result(self, pid: str) -> CheckResult:
        if pid in self.answers:
            return "answered"
        return "missed" if pid in self.eligible else "not-present"

    def view(self) -> dict[str, Any]:
        return {
            "check_id": self.id,
            "started_at": self.started_ms,
            "deadline": self.deadline_ms,
            "closed": self.closed,
            "answered": len(self.answers),
            "expected": len(self.eligible),
        }


class ChecksMixin(LessonState):
    def init_checks(self) -> None:
        self.checks: list[Check] = []
        self.check_times: list[int] = []  # scheduled moments, chosen at lesson start
        self.scheduled_started = 0

    def open_check(self) -> Check | None:
        return self.checks[-1] if self.checks and not self.checks[-1].closed else None

    def on_became_present(self, pid: str) -> None:
        super().on_became_present(pid)
        check = self.open_check()
        if check is not None and self.participants[pid].role != "teacher":
            check.eligible.add(pid)

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
        self.checks[-1].eligible.update(self.learners_present())
        self.scheduled_started += ev.scheduled

    def _apply_check_answered(self, ev: e.CheckAnswered, ts: int) -> None:
        check = self.checks[ev.check_id - 1]
        check.answers[ev.participant_id] = ev.response_ms
        check.eligible.add(ev.participant_id)

    def _apply_check_closed(self, ev: e.CheckClosed, ts: int) -> None:
        self.checks[ev.check_id - 1].closed = True

    def my_checks(self, pid: str) -> list[dict[str, Any]]:
        """A learner's own record: every check of the lesson and what it says of them."""
        return [
            {
                "check_id": ch.id,
                "result": ch.result(pid) if ch.closed or pid in ch.answers else "open",
                "response_ms": ch.answers.get(pid),
            }
            for ch in self.checks
        ]
