"""The waiting room's door: whether new guests may come in, and how many may wait."""

from __future__ import annotations

from core import commands as c
from core import events as e
from core.errors import Refused
from core.state import Actor, LessonState, require_live, require_teacher
from core.tables import Decision, decider, feature, fold


def check_guest_entry(state: LessonState) -> None:
    """Raise unless a new guest may enter the waiting room now."""
    if not state.allow_guests:
        raise Refused("guests-not-allowed", "This lesson does not admit guests.")
    if not state.guests_open:
        raise Refused("guest-entry-closed", "The teacher has closed the lesson to new guests.")
    waiting = sum(1 for p in state.participants.values() if p.presence == "waiting")
    if waiting >= state.rules.waiting_room_max:
        raise Refused("waiting-room-full", "The waiting room is full; try again in a few minutes.")


def set_guest_entry(state: LessonState, actor: Actor, cmd: c.SetGuestEntry, now: int) -> Decision:
    """The teacher opens and closes guest entry; those already waiting stay."""
    require_teacher(actor)
    require_live(state)
    if state.guests_open == cmd.open:
        return Decision((), {"open": cmd.open})
    return Decision([e.GuestEntryChanged(cmd.open)], {"open": cmd.open})


def guest_entry_changed(state: LessonState, ev: e.GuestEntryChanged, ts: int) -> None:
    state.guests_open = ev.open


FEATURE = feature(
    "guests",
    deciders=[decider(c.SetGuestEntry, set_guest_entry)],
    folds=[fold(e.GuestEntryChanged, guest_entry_changed)],
)
