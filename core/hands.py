"""The raise-hand queue: in order of raising; the teacher lowers anyone's hand."""

from __future__ import annotations

from typing import Any

from core import commands as c
from core import events as e
from core.errors import Refused
from core.rules import note_time, rate_limited, sliding_window_full
from core.state import Actor, LessonState


class HandsMixin(LessonState):
    def init_hands(self) -> None:
        self.hands: list[str] = []

    def hand_position(self, pid: str) -> int | None:
        return self.hands.index(pid) + 1 if pid in self.hands else None

    def on_gone(self, pid: str) -> None:
        super().on_gone(pid)
        if pid in self.hands:
            self.hands.remove(pid)

    def _decide_raise_hand(self, actor: Actor, cmd: c.RaiseHand, now: int) -> Any:
        p = self.require_present(actor)
        if p.role == "teacher":
            raise Refused("forbidden", "The teacher does not raise a hand.")
        if p.id in self.hands:
            return [], {"position": self.hand_position(p.id)}
        if sliding_window_full(p.times("hand"), now, self.rules.hand_rate_per_minute, 60_000):
            raise rate_limited("You are raising your hand too often; wait a moment.")
        return [e.HandRaised(p.id)], {"position": len(self.hands) + 1}

    def _decide_lower_hand(self, actor: Actor, cmd: c.LowerHand, now: int) -> Any:
        self.require_live()
        target = cmd.participant_id or actor.participant_id
        if target != actor.participant_id:
            self.require_teacher(actor)
        if target not in self.hands:
            return [], {}
        return [e.HandLowered(target)], {}

    def _apply_hand_raised(self, ev: e.HandRaised, ts: int) -> None:
        self.hands.append(ev.participant_id)
        p = self.participants[ev.participant_id]
        note_time(p.times("hand"), ts, self.rules.hand_rate_per_minute)

    def _apply_hand_lowered(self, ev: e.HandLowered, ts: int) -> None:
        self.hands.remove(ev.participant_id)
