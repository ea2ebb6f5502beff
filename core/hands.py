"""The raise-hand queue: in order of raising; the teacher lowers anyone's hand."""

from __future__ import annotations

from core import commands as c
from core import events as e
from core.errors import Refused
from core.rules import note_time, rate_limited, sliding_window_full
from core.state import Actor, LessonState, require_live, require_present, require_teacher
from core.tables import Decision, decider, feature, fold


def hand_position(state: LessonState, pid: str) -> int | None:
    return state.hands.index(pid) + 1 if pid in state.hands else None


def drop(state: LessonState, pid: str) -> None:
    """Someone who goes loses their place in the queue."""
    if pid in state.hands:
        state.hands.remove(pid)


def raise_hand(state: LessonState, actor: Actor, cmd: c.RaiseHand, now: int) -> Decision:
    p = require_present(state, actor)
    if p.role == "teacher":
        raise Refused("forbidden", "The teacher does not raise a hand.")
    if p.id in state.hands:
        return Decision((), {"position": hand_position(state, p.id)})
    if sliding_window_full(p.times("hand"), now, state.rules.hand_rate_per_minute, 60_000):
        raise rate_limited("You are raising your hand too often; wait a moment.")
    return Decision([e.HandRaised(p.id)], {"position": len(state.hands) + 1})


def lower_hand(state: LessonState, actor: Actor, cmd: c.LowerHand, now: int) -> Decision:
    require_live(state)
    pid = cmd.participant_id or actor.participant_id
    if pid != actor.participant_id:
        require_teacher(actor)
    if pid not in state.hands:
        return Decision()
    return Decision([e.HandLowered(pid)])


def hand_raised(state: LessonState, ev: e.HandRaised, ts: int) -> None:
    state.hands.append(ev.participant_id)
    p = state.participants[ev.participant_id]
    note_time(p.times("hand"), ts, state.rules.hand_rate_per_minute)


def hand_lowered(state: LessonState, ev: e.HandLowered, ts: int) -> None:
    state.hands.remove(ev.participant_id)


FEATURE = feature(
    "hands",
    deciders=[decider(c.RaiseHand, raise_hand), decider(c.LowerHand, lower_hand)],
    folds=[fold(e.HandRaised, hand_raised), fold(e.HandLowered, hand_lowered)],
)
