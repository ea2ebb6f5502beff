"""The waiting room's door: whether new guests may come in, and how many may wait."""

from __future__ import annotations

from typing import Any

from core import commands as c
from core import events as e
from core.errors import Refused
from core.state import Actor, LessonState


class GuestsMixin(LessonState):
    """The teacher opens and closes guest entry; the waiting room holds a bounded number."""

    def check_guest_entry(self) -> None:
        """Raise unless a new guest may enter the waiting room now."""
        if not self.allow_guests:
            raise Refused("guests-not-allowed", "This lesson does not admit guests.")
        if not self.guests_open:
            raise Refused("guest-entry-closed", "The teacher has closed the lesson to new guests.")
        waiting = sum(1 for p in self.participants.values() if p.presence == "waiting")
        if waiting >= self.rules.waiting_room_max:
            raise Refused(
                "waiting-room-full", "The waiting room is full; try again in a few minutes."
            )

    def _decide_set_guest_entry(self, actor: Actor, cmd: c.SetGuestEntry, now: int) -> Any:
        self.require_teacher(actor)
        self.require_live()
        if self.guests_open == cmd.open:
            return [], {"open": cmd.open}
        return [e.GuestEntryChanged(cmd.open)], {"open": cmd.open}

    def _apply_guest_entry_changed(self, ev: e.GuestEntryChanged, ts: int) -> None:
        self.guests_open = ev.open
