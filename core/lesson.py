"""One live lesson: decides commands into events and folds events into state."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from core import commands as c
from core import events as e
from core.budgets import BudgetsMixin
from core.chat import ChatMessage, ChatMixin
from core.checks import ChecksMixin
from core.erasure import ErasureMixin
from core.errors import Refused
from core.floor import FloorMixin
from core.guests import GuestsMixin
from core.hands import HandsMixin
from core.polls import PollsMixin
from core.quizzes import QuizzesMixin
from core.state import (
    ACTIVE,
    SYSTEM,
    Actor,
    Outcome,
    Participant,
    Presence,
)

__all__ = ["SYSTEM", "Actor", "ChatMessage", "Lesson", "Outcome", "Participant"]

_GONE: dict[str, Presence] = {"network": "away", "removed": "removed", "denied": "denied"}


@functools.cache
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Lesson(
    ErasureMixin,
    ChatMixin,
    HandsMixin,
    ChecksMixin,
    PollsMixin,
    QuizzesMixin,
    FloorMixin,
    GuestsMixin,
    BudgetsMixin,
):
    """One lesson's state, rebuilt from its log by `apply`, changed only by events."""

    def execute(self, actor: Actor, command: c.Command, now_ms: int) -> Outcome:
        """Decide a command; on success apply its events. A refusal changes nothing."""
        decide = self._method("decide", type(command).__name__)
        events, result = decide(actor, command, now_ms)
        self.check_budgets(actor, events, now_ms)
        records = tuple(
            e.Record(self.seq + i + 1, now_ms, ev.actor_for(actor.participant_id), ev)
            for i, ev in enumerate(events)
        )
        for record in records:
            self.apply(record)
        return Outcome(records, result)

    def apply(self, record: e.Record) -> None:
        """Fold one logged event into the state (also used to replay the log)."""
        self._method("apply", type(record.event).__name__)(record.event, record.ts_ms)
        self.note_spent(record)
        self.note_attendance(record)
        self.seq = record.seq

    def _method(self, prefix: str, class_name: str) -> Callable[..., Any]:
        method = getattr(self, f"_{prefix}_{_snake(class_name)}", None)
        if method is None:
            raise TypeError(f"no {prefix} handler for {class_name}")
        return method  # type: ignore[no-any-return]

    def due(self, now_ms: int) -> list[c.Command]:
        """What the server itself must do by now: close checks, start scheduled ones, expire."""
        if self.status != "live":
            return []
        expired = [
            c.ExpireAway(p.id)
            for p in self.participants.values()
            if p.presence == "away" and now_ms - p.since_ms >= self.rules.grace_ms
        ]
        due = [*self.checks_due(now_ms), *self.quizzes_due(now_ms), *expired]
        return [*due, *self.visibility_due(now_ms), *self.auto_end_due(now_ms)]

    # -- lifecycle ------------------------------------------------------------------------

    def _decide_start_lesson(self, actor: Actor, cmd: c.StartLesson, now: int) -> Any:
        self.require_teacher(actor)
        if self.status == "live":
            raise Refused("lesson-already-started", "The lesson has already started.")
        if self.status == "ended":
            raise Refused("lesson-ended", "The lesson has ended.")
        times = sorted(cmd.check_times_ms)
        return [e.LessonStarted(cmd.title, cmd.teacher_id, cmd.allow_guests, times)], {}

    def _decide_end_lesson(self, actor: Actor, cmd: c.EndLesson, now: int) -> Any:
        self.require_teacher(actor)
        self.require_live()
        leaving = [
            e.ParticipantLeft(p.id, "lesson-ended")
            for p in self.participants.values()
            if p.presence in (*ACTIVE, "waiting")
        ]
        closing: list[e.Event] = [e.CheckClosed(ch.id) for ch in self.checks if not ch.closed]
        closing += self.polls_closed_at_end()
        return [*closing, *leaving, e.LessonEnded(cmd.reason)], {}

    def _decide_note_restart(self, actor: Actor, cmd: c.NoteRestart, now: int) -> Any:
        self.require_teacher(actor)
        gone = any(p.presence == "present" for p in self.participants.values())
        if self.status != "live" or not gone:
            return [], {}
        return [e.ServerRestarted(cmd.down_since_ms)], {}

    def _apply_lesson_started(self, ev: e.LessonStarted, ts: int) -> None:
        self.status, self.title, self.teacher_id = "live", ev.title, ev.teacher_id
        self.allow_guests, self.started_ms = ev.allow_guests, ts
        self.check_times = list(ev.check_times_ms)

    def _apply_lesson_ended(self, ev: e.LessonEnded, ts: int) -> None:
        self.status, self.end_reason, self.ended_ms = "ended", ev.reason, ts
        self.hands.clear()

    def _apply_server_restarted(self, ev: e.ServerRestarted, ts: int) -> None:
        for p in self.participants.values():
            if p.presence == "present":
                self._set_presence(p, "away", ts)
                p.gap_from_ms, p.gap_reason = ev.down_since_ms, "server"

    # -- joining, leaving, presence -------------------------------------------------------

    def _decide_join(self, actor: Actor, cmd: c.Join, now: int) -> Any:
        self.require_live()
        p = self.participants.get(actor.participant_id)
        if p is not None and p.presence in ("removed", "denied"):
            raise Refused("removed", "The teacher has removed you from this lesson.")
        if p is not None and p.presence in ("present", "waiting"):
            return [], {}
        if cmd.resume and p is not None and self._past_grace(p, now):
            raise Refused("token-expired", "You were away too long; join again.")
        self.check_join_budget(actor.participant_id, now)
        if actor.role == "guest" and (p is None or not p.admitted):
            self.check_guest_entry()
            return [e.GuestWaiting(actor.participant_id, actor.name)], {}
        if actor.role == "system":
            raise Refused("forbidden", "The server cannot join a lesson.")
        device = cmd.device if cmd.device != actor.participant_id else None
        joined = e.ParticipantJoined(actor.participant_id, actor.name, actor.role, device)
        owed = self.extensions_on_return(p, now) if p is not None and p.presence == "away" else []
        return [joined, *owed], {}

    def _past_grace(self, p: Participant, now: int) -> bool:
        """Away longer than the grace, counted from the drop (the expiry may not have run)."""
        return p.timed_out or (p.presence == "away" and now - p.since_ms > self.rules.grace_ms)

    def _decide_leave(self, actor: Actor, cmd: c.Leave, now: int) -> Any:
        p = self.participants.get(actor.participant_id)
        if p is None or p.presence not in (*ACTIVE, "waiting"):
            return [], {}
        return [e.ParticipantLeft(p.id, "left")], {}

    def _decide_connection_lost(self, actor: Actor, cmd: c.ConnectionLost, now: int) -> Any:
        p = self.participants.get(actor.participant_id)
        if p is None or self.status != "live":
            return [], {}
        if p.presence == "waiting":  # gone from the waiting room, but not on purpose
            return [e.ParticipantLeft(p.id, "network")], {}
        if p.presence != "present":
            return [], {}
        seen = cmd.last_seen_ms
        seen = None if seen is None else max(min(seen, now), p.since_ms)
        return [e.ParticipantLeft(p.id, "network", seen)], {}

    def _decide_expire_away(self, actor: Actor, cmd: c.ExpireAway, now: int) -> Any:
        self.require_teacher(actor)
        p = self.target(cmd.participant_id)
        if p.presence != "away":
            return [], {}
        return [e.ParticipantTimedOut(p.id)], {}

    def _decide_remove_participant(self, actor: Actor, cmd: c.RemoveParticipant, now: int) -> Any:
        self.require_teacher(actor)
        self.require_live()
        p = self.target(cmd.participant_id)
        if p.role == "teacher":
            raise Refused("forbidden", "A teacher cannot be removed.")
        if p.presence == "removed":
            return [], {}
        return [e.ParticipantLeft(p.id, "removed")], {}

    def _decide_admit_guest(self, actor: Actor, cmd: c.AdmitGuest, now: int) -> Any:
        self._require_waiting(actor, cmd.participant_id)
        return [e.GuestAdmitted(cmd.participant_id)], {}

    def _decide_deny_guest(self, actor: Actor, cmd: c.DenyGuest, now: int) -> Any:
        self._require_waiting(actor, cmd.participant_id)
        return [e.ParticipantLeft(cmd.participant_id, "denied")], {}

    def _require_waiting(self, actor: Actor, participant_id: str) -> None:
        self.require_teacher(actor)
        self.require_live()
        if self.target(participant_id).presence != "waiting":
            raise Refused("not-waiting", "This person is not in the waiting room.")

    def _set_presence(self, p: Participant, presence: Presence, ts: int) -> None:
        self.present_count += (presence == "present") - (p.presence == "present")
        p.presence, p.since_ms, p.pending_visible = presence, ts, None
        if presence == "present":
            p.visible, p.listening, p.timed_out = True, False, False
        elif presence in ("left", "removed", "denied"):
            self.on_gone(p.id)  # a network drop ("away") keeps the hand and the place

    def _apply_participant_joined(self, ev: e.ParticipantJoined, ts: int) -> None:
        p = self.participants.get(ev.participant_id)
        if p is None:
            p = Participant(ev.participant_id, ev.name, ev.role, "left")  # present just below
            self.participants[p.id] = p
        p.name = ev.name
        p.device = ev.device
        self._set_presence(p, "present", ts)

    def _apply_guest_waiting(self, ev: e.GuestWaiting, ts: int) -> None:
        p = Participant(ev.participant_id, ev.name, "guest", "waiting", admitted=False)
        p.since_ms = ts
        earlier = self.participants.get(p.id)
        p.spent = earlier.spent if earlier is not None else {}  # budgets outlive a re-entry
        self.participants[p.id] = p

    def _apply_guest_admitted(self, ev: e.GuestAdmitted, ts: int) -> None:
        p = self.participants[ev.participant_id]
        p.admitted = True
        self._set_presence(p, "present", ts)

    def _apply_participant_left(self, ev: e.ParticipantLeft, ts: int) -> None:
        p = self.participants[ev.participant_id]
        if p.presence == "waiting":  # never in the lesson: nothing to come back to
            self._set_presence(p, "denied" if ev.reason == "denied" else "left", ts)
            return
        self._set_presence(p, _GONE.get(ev.reason, "left"), ts)
        if ev.reason == "network":
            p.gap_from_ms, p.gap_reason = ev.last_seen_ms or ts, "network"

    def _apply_participant_timed_out(self, ev: e.ParticipantTimedOut, ts: int) -> None:
        p = self.participants[ev.participant_id]
        self._set_presence(p, "left", ts)
        p.timed_out = True
