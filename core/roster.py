"""Who is in the lesson: joining, the waiting room, leaving, drops and their grace."""

from __future__ import annotations

from core import commands as c
from core import events as e
from core import floor, hands
from core.budgets import check_join_budget
from core.errors import Refused
from core.guests import check_guest_entry
from core.quizzes import extensions_on_return
from core.state import (
    ACTIVE,
    Actor,
    LessonState,
    Participant,
    Presence,
    require_live,
    require_teacher,
    target,
)
from core.tables import Decision, decider, feature, fold

_GONE: dict[str, Presence] = {"network": "away", "removed": "removed", "denied": "denied"}


def set_presence(state: LessonState, p: Participant, presence: Presence, ts: int) -> None:
    """The one place presence changes: the count, the timestamps, what going away drops."""
    change = (presence == "present") - (p.presence == "present")
    state.present_count += change
    if p.role != "teacher":
        state.present_learners += change
    p.presence, p.since_ms, p.pending_visible = presence, ts, None
    if presence == "present":
        p.visible, p.listening, p.timed_out = True, False, False
    elif presence in ("left", "removed", "denied"):  # a network drop keeps hand and floor
        hands.drop(state, p.id)
        floor.drop(state, p.id)


def due(state: LessonState, now: int) -> list[c.Command]:
    """Those away past the grace are taken off the roster."""
    grace = state.rules.grace_ms
    return [
        c.ExpireAway(p.id)
        for p in state.participants.values()
        if p.presence == "away" and now - p.since_ms >= grace
    ]


def join(state: LessonState, actor: Actor, cmd: c.Join, now: int) -> Decision:
    require_live(state)
    p = state.participants.get(actor.participant_id)
    if p is not None and p.presence in ("removed", "denied"):
        raise Refused("removed", "The teacher has removed you from this lesson.")
    if p is not None and p.presence in ("present", "waiting"):
        return Decision()
    if cmd.resume and p is not None and _past_grace(state, p, now):
        raise Refused("token-expired", "You were away too long; join again.")
    check_join_budget(state, actor.participant_id, now)
    if actor.role == "guest" and (p is None or not p.admitted):
        check_guest_entry(state)
        return Decision([e.GuestWaiting(actor.participant_id, actor.name)])
    if actor.role == "system":
        raise Refused("forbidden", "The server cannot join a lesson.")
    device = cmd.device if cmd.device != actor.participant_id else None
    joined = e.ParticipantJoined(actor.participant_id, actor.name, actor.role, device)
    back = p is not None and p.presence == "away"
    owed = extensions_on_return(state, p, now) if p is not None and back else []
    return Decision([joined, *owed])


def _past_grace(state: LessonState, p: Participant, now: int) -> bool:
    """Away longer than the grace, counted from the drop (the expiry may not have run)."""
    away_too_long = p.presence == "away" and now - p.since_ms > state.rules.grace_ms
    return p.timed_out or away_too_long


def leave(state: LessonState, actor: Actor, cmd: c.Leave, now: int) -> Decision:
    p = state.participants.get(actor.participant_id)
    if p is None or p.presence not in (*ACTIVE, "waiting"):
        return Decision()
    return Decision([e.ParticipantLeft(p.id, "left")])


def connection_lost(state: LessonState, actor: Actor, cmd: c.ConnectionLost, now: int) -> Decision:
    p = state.participants.get(actor.participant_id)
    if p is None or state.status != "live":
        return Decision()
    if p.presence == "waiting":  # gone from the waiting room, but not on purpose
        return Decision([e.ParticipantLeft(p.id, "network")])
    if p.presence != "present":
        return Decision()
    seen = cmd.last_seen_ms
    seen = None if seen is None else max(min(seen, now), p.since_ms)
    return Decision([e.ParticipantLeft(p.id, "network", seen)])


def expire_away(state: LessonState, actor: Actor, cmd: c.ExpireAway, now: int) -> Decision:
    require_teacher(actor)
    p = target(state, cmd.participant_id)
    if p.presence != "away":
        return Decision()
    return Decision([e.ParticipantTimedOut(p.id)])


def remove_participant(
    state: LessonState, actor: Actor, cmd: c.RemoveParticipant, now: int
) -> Decision:
    require_teacher(actor)
    require_live(state)
    p = target(state, cmd.participant_id)
    if p.role == "teacher":
        raise Refused("forbidden", "A teacher cannot be removed.")
    if p.presence == "removed":
        return Decision()
    return Decision([e.ParticipantLeft(p.id, "removed")])


def admit_guest(state: LessonState, actor: Actor, cmd: c.AdmitGuest, now: int) -> Decision:
    _require_waiting(state, actor, cmd.participant_id)
    return Decision([e.GuestAdmitted(cmd.participant_id)])


def deny_guest(state: LessonState, actor: Actor, cmd: c.DenyGuest, now: int) -> Decision:
    _require_waiting(state, actor, cmd.participant_id)
    return Decision([e.ParticipantLeft(cmd.participant_id, "denied")])


def _require_waiting(state: LessonState, actor: Actor, participant_id: str) -> None:
    require_teacher(actor)
    require_live(state)
    if target(state, participant_id).presence != "waiting":
        raise Refused("not-waiting", "This person is not in the waiting room.")


def participant_joined(state: LessonState, ev: e.ParticipantJoined, ts: int) -> None:
    p = state.participants.get(ev.participant_id)
    if p is None:
        p = Participant(ev.participant_id, ev.name, ev.role, "left")  # present just below
        state.participants[p.id] = p
    p.name = ev.name
    p.device = ev.device
    set_presence(state, p, "present", ts)


def guest_waiting(state: LessonState, ev: e.GuestWaiting, ts: int) -> None:
    p = Participant(ev.participant_id, ev.name, "guest", "waiting", admitted=False)
    p.since_ms = ts
    earlier = state.participants.get(p.id)
    p.spent = earlier.spent if earlier is not None else {}  # budgets outlive a re-entry
    state.participants[p.id] = p


def guest_admitted(state: LessonState, ev: e.GuestAdmitted, ts: int) -> None:
    p = state.participants[ev.participant_id]
    p.admitted = True
    set_presence(state, p, "present", ts)


def participant_left(state: LessonState, ev: e.ParticipantLeft, ts: int) -> None:
    p = state.participants[ev.participant_id]
    if p.presence == "waiting":  # never in the lesson: nothing to come back to
        set_presence(state, p, "denied" if ev.reason == "denied" else "left", ts)
        return
    set_presence(state, p, _GONE.get(ev.reason, "left"), ts)
    if ev.reason == "network":
        p.gap_from_ms, p.gap_reason = ev.last_seen_ms or ts, "network"


def participant_timed_out(state: LessonState, ev: e.ParticipantTimedOut, ts: int) -> None:
    p = state.participants[ev.participant_id]
    set_presence(state, p, "left", ts)
    p.timed_out = True


FEATURE = feature(
    "roster",
    deciders=[
        decider(c.Join, join),
        decider(c.Leave, leave),
        decider(c.ConnectionLost, connection_lost),
        decider(c.ExpireAway, expire_away),
        decider(c.RemoveParticipant, remove_participant),
        decider(c.AdmitGuest, admit_guest),
        decider(c.DenyGuest, deny_guest),
    ],
    folds=[
        fold(e.ParticipantJoined, participant_joined),
        fold(e.GuestWaiting, guest_waiting),
        fold(e.GuestAdmitted, guest_admitted),
        fold(e.ParticipantLeft, participant_left),
        fold(e.ParticipantTimedOut, participant_timed_out),
    ],
)
