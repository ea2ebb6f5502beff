"""One live lesson: decides commands into events and folds events into state, through the
merged tables of its features (one decider per command type, one fold per event type)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core import (
    budgets,
    chat,
    checks,
    erasure,
    floor,
    guests,
    hands,
    lifecycle,
    polls,
    quizzes,
    recording,
    roster,
)
from core import commands as c
from core import events as e
from core.check import Check
from core.poll import Poll
from core.presence import Span
from core.quiz import Quiz
from core.state import SYSTEM, Actor, ChatMessage, LessonState, Outcome, Participant
from core.tables import Feature, merge

__all__ = ["SYSTEM", "Actor", "ChatMessage", "Lesson", "Outcome", "Participant"]

FEATURES: tuple[Feature, ...] = (
    lifecycle.FEATURE,
    roster.FEATURE,
    guests.FEATURE,
    budgets.FEATURE,
    chat.FEATURE,
    hands.FEATURE,
    floor.FEATURE,
    checks.FEATURE,
    polls.FEATURE,
    quizzes.FEATURE,
    erasure.FEATURE,
    recording.FEATURE,
)
DECIDERS, FOLDS = merge(FEATURES)
# What the server itself must do by now, in this order (a close before a new start).
_DUE: tuple[Callable[[LessonState, int], list[c.Command]], ...] = (
    checks.due,
    quizzes.due,
    roster.due,
    budgets.due,
    lifecycle.due,
)


class Lesson(LessonState):
    """One lesson's state, rebuilt from its log by `apply`, changed only by events."""

    def execute(self, actor: Actor, command: c.Command, now_ms: int) -> Outcome:
        """Decide a command; on success apply its events. A refusal changes nothing."""
        decide = DECIDERS.get(type(command))
        if decide is None:
            raise TypeError(f"no decider for {type(command).__name__}")
        decision = decide(self, actor, command, now_ms)
        budgets.check_budgets(self, actor, decision.events, now_ms)
        records = tuple(
            e.Record(self.seq + i + 1, now_ms, ev.actor_for(actor.participant_id), ev)
            for i, ev in enumerate(decision.events)
        )
        for record in records:
            self.apply(record)
        return Outcome(records, decision.result)

    def apply(self, record: e.Record) -> None:
        """Fold one logged event into the state (also used to replay the log)."""
        fold = FOLDS.get(type(record.event))
        if fold is None:
            raise TypeError(f"no fold for {type(record.event).__name__}")
        fold(self, record.event, record.ts_ms)
        budgets.note_spent(self, record)
        self.attendance.add(record)
        self.seq = record.seq

    def due(self, now_ms: int) -> list[c.Command]:
        """What the server itself must do by now: close checks, start scheduled ones, expire."""
        if self.status != "live":
            return []
        return [command for due in _DUE for command in due(self, now_ms)]

    # -- what the views, the media rooms and the adapters read ------------------------------

    def may_publish(self, pid: str) -> frozenset[str]:
        return floor.may_publish(self, pid)

    def hand_position(self, pid: str) -> int | None:
        return hands.hand_position(self, pid)

    def open_check(self) -> Check | None:
        return checks.open_check(self)

    def attended(self) -> dict[str, list[Span]]:
        return checks.attended(self)

    def check_expected(self, check: Check, attended: dict[str, list[Span]]) -> set[str]:
        return checks.check_expected(check, attended)

    def check_tallies(self, of: Sequence[Check]) -> list[dict[str, Any]]:
        return checks.check_tallies(self, of)

    def check_tally(self, check: Check) -> dict[str, Any]:
        return checks.check_tallies(self, [check])[0]

    def my_checks(self, pid: str) -> list[dict[str, Any]]:
        return checks.my_checks(self, pid)

    def poll(self, poll_id: int) -> Poll:
        return polls.poll(self, poll_id)

    def poll_results(self, poll: Poll) -> dict[str, Any]:
        return polls.poll_results(self, poll)

    def quiz(self, quiz_id: int) -> Quiz:
        return quizzes.quiz(self, quiz_id)
