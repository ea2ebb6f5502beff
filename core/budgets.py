"""Budgets against log flooding: per-participant allowances, held visibility, the ceiling."""

from __future__ import annotations

from typing import Any

from core import commands as c
from core import events as e
from core.errors import Refused
from core.rules import (
    note_time,
    rate_limited,
    sliding_window_full,
    window_opens_at,
)
from core.state import Actor, LessonState

# Events that close something: always stored, past every budget and the ceiling, so the
# record of who left, when the lesson ended and which checks and quizzes closed stays true.
# Each follows an event that was itself within budget, so they cannot flood.
ALWAYS_STORED = frozenset({
    "ParticipantLeft", "ParticipantTimedOut", "ServerRestarted", "LessonEnded",
    "CheckClosed", "PollClosed", "QuizClosed",
})  # fmt: skip
# Bounded by their own budget (one stored flip per interval), never refused by the general one.
_OWN_BUDGET = frozenset({"VisibilityChanged"})
# Which stored events count against which of the subject participant's budgets.
_BUDGET_OF = {
    "ParticipantJoined": "join", "GuestWaiting": "join", "VisibilityChanged": "visibility",
}  # fmt: skip
MINUTE_MS = 60_000


class BudgetsMixin(LessonState):
    def check_budgets(self, actor: Actor, events: list[e.Event], now: int) -> None:
        """Refuse a command whose events would pass the log ceiling or the actor's budget."""
        kinds = {type(ev).__name__ for ev in events}
        if not kinds - ALWAYS_STORED:
            return
        if self.seq + len(events) > self.rules.max_events:
            raise Refused(
                "log-full",
                "This lesson has stored as many events as a lesson may; "
                "the teacher can end it and start a new one.",
            )
        p = self.participants.get(actor.participant_id)
        if p is None or not kinds - ALWAYS_STORED - _OWN_BUDGET:
            return
        allowance = self.rules.events_per_minute * (10 if p.role == "teacher" else 1)
        if sliding_window_full(p.times("any"), now, allowance, MINUTE_MS):
            raise rate_limited("You are doing too many things at once; wait a moment.")

    def note_spent(self, record: e.Record) -> None:
        """Count a stored event against its participants' budgets (also when replaying)."""
        name = type(record.event).__name__
        author = self.participants.get(record.actor)
        if author is not None and name not in ALWAYS_STORED:
            note_time(author.times("any"), record.ts_ms, self.rules.events_per_minute * 10)
        budget = _BUDGET_OF.get(name)
        if budget is not None:
            subject = self.participants[vars(record.event)["participant_id"]]
            keep = self.rules.join_rate_per_minute if budget == "join" else 1
            note_time(subject.times(budget), record.ts_ms, keep)

    def check_join_budget(self, pid: str, now: int) -> None:
        p = self.participants.get(pid)
        if p is not None and sliding_window_full(
            p.times("join"), now, self.rules.join_rate_per_minute, MINUTE_MS
        ):
            raise rate_limited("You have joined too often in the last minute; wait a moment.")

    # -- visibility: the last state wins within the interval ---------------------------------

    def _decide_set_visibility(self, actor: Actor, cmd: c.SetVisibility, now: int) -> Any:
        p = self.require_present(actor)
        wanted = (cmd.visible, cmd.listening and not cmd.visible)
        # Only commands without events change `pending_visible`, so no refusal follows it.
        if (p.visible, p.listening) == wanted:
            p.pending_visible = None  # back to the stored state: nothing left to store
            return [], {}
        if self._flip_allowed_at(p.id) > now:
            p.pending_visible = wanted
            return [], {"held": True}
        return [e.VisibilityChanged(p.id, *wanted)], {}

    def _decide_settle_visibility(self, actor: Actor, cmd: c.SettleVisibility, now: int) -> Any:
        self.require_teacher(actor)
        p = self.target(cmd.participant_id)
        wanted = p.pending_visible
        if p.presence != "present" or wanted is None or wanted == (p.visible, p.listening):
            return [], {}
        return [e.VisibilityChanged(p.id, *wanted)], {}

    def visibility_due(self, now: int) -> list[c.Command]:
        """Held flips whose interval has passed: the newest state is stored now."""
        return [
            c.SettleVisibility(p.id)
            for p in self.participants.values()
            if p.pending_visible is not None
            and p.presence == "present"
            and self._flip_allowed_at(p.id) <= now
        ]

    def _flip_allowed_at(self, pid: str) -> int:
        times = self.participants[pid].times("visibility")
        return window_opens_at(times, 1, self.rules.visibility_interval_ms)

    def _apply_visibility_changed(self, ev: e.VisibilityChanged, ts: int) -> None:
        p = self.participants[ev.participant_id]
        p.visible, p.listening, p.pending_visible = ev.visible, ev.listening, None
