"""Budgets against log flooding: per-participant allowances, held visibility, the ceiling."""

from __future__ import annotations

from collections.abc import Sequence

from core import commands as c
from core import events as e
from core.errors import Refused
from core.rules import note_time, rate_limited, sliding_window_full, window_opens_at
from core.state import Actor, LessonState, require_present, require_teacher, target
from core.tables import Decision, decider, feature, fold

# Events that close something: always stored, past every budget and the ceiling, so the
# record of who left, when the lesson ended and which checks and quizzes closed stays true.
# Each follows an event that was itself within budget, so they cannot flood.
ALWAYS_STORED: frozenset[type[e.Event]] = frozenset({
    e.ParticipantLeft, e.ParticipantTimedOut, e.ServerRestarted, e.LessonEnded,
    e.CheckClosed, e.PollClosed, e.QuizClosed,
})  # fmt: skip
# Bounded by their own budget (one stored flip per interval), never refused by the general one.
_OWN_BUDGET: frozenset[type[e.Event]] = frozenset({e.VisibilityChanged})
# Which stored events count against which of the subject participant's budgets.
_BUDGET_OF: dict[type[e.Event], str] = {
    e.ParticipantJoined: "join", e.GuestWaiting: "join", e.VisibilityChanged: "visibility",
}  # fmt: skip
MINUTE_MS = 60_000


def check_budgets(state: LessonState, actor: Actor, events: Sequence[e.Event], now: int) -> None:
    """Refuse a command whose events would pass the log ceiling or the actor's budget."""
    kinds = {type(ev) for ev in events}
    if not kinds - ALWAYS_STORED:
        return
    if state.seq + len(events) > state.rules.max_events:
        raise Refused(
            "log-full",
            "This lesson has stored as many events as a lesson may; "
            "the teacher can end it and start a new one.",
        )
    p = state.participants.get(actor.participant_id)
    if p is None or not kinds - ALWAYS_STORED - _OWN_BUDGET:
        return
    allowance = state.rules.events_per_minute * (10 if p.role == "teacher" else 1)
    if sliding_window_full(p.times("any"), now, allowance, MINUTE_MS):
        raise rate_limited("You are doing too many things at once; wait a moment.")


def note_spent(state: LessonState, record: e.Record) -> None:
    """Count a stored event against its participants' budgets (also when replaying)."""
    kind = type(record.event)
    author = state.participants.get(record.actor)
    if author is not None and kind not in ALWAYS_STORED:
        note_time(author.times("any"), record.ts_ms, state.rules.events_per_minute * 10)
    budget = _BUDGET_OF.get(kind)
    if budget is not None:
        subject = state.participants[vars(record.event)["participant_id"]]
        keep = state.rules.join_rate_per_minute if budget == "join" else 1
        note_time(subject.times(budget), record.ts_ms, keep)


def check_join_budget(state: LessonState, pid: str, now: int) -> None:
    p = state.participants.get(pid)
    if p is not None and sliding_window_full(
        p.times("join"), now, state.rules.join_rate_per_minute, MINUTE_MS
    ):
        raise rate_limited("You have joined too often in the last minute; wait a moment.")


# -- visibility: the last state wins within the interval ---------------------------------


def set_visibility(state: LessonState, actor: Actor, cmd: c.SetVisibility, now: int) -> Decision:
    p = require_present(state, actor)
    wanted = (cmd.visible, cmd.listening and not cmd.visible)
    # Only commands without events change `pending_visible`, so no refusal follows it.
    if (p.visible, p.listening) == wanted:
        p.pending_visible = None  # back to the stored state: nothing left to store
        return Decision()
    if _flip_allowed_at(state, p.id) > now:
        p.pending_visible = wanted
        return Decision((), {"held": True})
    return Decision([e.VisibilityChanged(p.id, *wanted)])


def settle_visibility(
    state: LessonState, actor: Actor, cmd: c.SettleVisibility, now: int
) -> Decision:
    require_teacher(actor)
    p = target(state, cmd.participant_id)
    wanted = p.pending_visible
    if p.presence != "present" or wanted is None or wanted == (p.visible, p.listening):
        return Decision()
    return Decision([e.VisibilityChanged(p.id, *wanted)])


def due(state: LessonState, now: int) -> list[c.Command]:
    """Held flips whose interval has passed: the newest state is stored now."""
    return [
        c.SettleVisibility(p.id)
        for p in state.participants.values()
        if p.pending_visible is not None
        and p.presence == "present"
        and _flip_allowed_at(state, p.id) <= now
    ]


def _flip_allowed_at(state: LessonState, pid: str) -> int:
    times = state.participants[pid].times("visibility")
    return window_opens_at(times, 1, state.rules.visibility_interval_ms)


def visibility_changed(state: LessonState, ev: e.VisibilityChanged, ts: int) -> None:
    p = state.participants[ev.participant_id]
    p.visible, p.listening, p.pending_visible = ev.visible, ev.listening, None


FEATURE = feature(
    "visibility",
    deciders=[
        decider(c.SetVisibility, set_visibility),
        decider(c.SettleVisibility, settle_visibility),
    ],
    folds=[fold(e.VisibilityChanged, visibility_changed)],
)
