"""The floor: the teacher lets a student speak (and be seen, if allowed), then takes it back."""

from __future__ import annotations

from typing import Any

from server.classroom import commands as c
from server.classroom import events as e
from server.classroom.errors import Refused
from server.classroom.state import Actor, LessonState


class FloorMixin(LessonState):
    def init_floor(self) -> None:
        self.floor: dict[str, bool] = {}  # who has the floor -> may they show their camera

    def on_gone(self, pid: str) -> None:
        super().on_gone(pid)
        self.floor.pop(pid, None)

    def may_publish(self, pid: str) -> frozenset[str]:
        """What a participant may publish: the teacher everything, the floor a microphone."""
        p = self.participants.get(pid)
        if p is None or p.presence != "present":
            return frozenset()
        if p.role == "teacher":
            return frozenset({"mic", "camera", "screen"})
        if pid in self.floor:
            return frozenset({"mic", "camera"} if self.floor[pid] else {"mic"})
        return frozenset()

    def _decide_give_floor(self, actor: Actor, cmd: c.GiveFloor, now: int) -> Any:
        self.require_teacher(actor)
        self.require_live()
        p = self.target(cmd.participant_id)
        if p.role == "teacher" or p.presence != "present":
            raise Refused("not-present", "Only a present student can be given the floor.")
        if self.floor.get(p.id) == cmd.camera:
            return [], {}
        return [e.FloorGiven(p.id, cmd.camera)], {}

    def _decide_take_floor(self, actor: Actor, cmd: c.TakeFloor, now: int) -> Any:
        self.require_teacher(actor)
        if cmd.participant_id not in self.floor:
            return [], {}
        return [e.FloorTaken(cmd.participant_id)], {}

    def _apply_floor_given(self, ev: e.FloorGiven, ts: int) -> None:
        self.floor[ev.participant_id] = ev.camera

    def _apply_floor_taken(self, ev: e.FloorTaken, ts: int) -> None:
        self.floor.pop(ev.participant_id, None)
