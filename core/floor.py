"""The floor: the teacher offers a student the floor, the student accepts (or declines) and
speaks (and is seen, if allowed), then the teacher takes it back."""

from __future__ import annotations

from typing import Any

from core import commands as c
from core import events as e
from core.errors import Refused
from core.state import Actor, LessonState


class FloorMixin(LessonState):
    def init_floor(self) -> None:
        self.floor: dict[str, bool] = {}  # who has the floor -> may they show their camera
        self.floor_offers: dict[str, bool] = {}  # offered, not yet answered -> with camera

    def on_gone(self, pid: str) -> None:
        super().on_gone(pid)
        self.floor.pop(pid, None)
        self.floor_offers.pop(pid, None)

    def may_publish(self, pid: str) -> frozenset[str]:
        """What a participant may publish: the teacher everything, the floor a microphone.

        An offer grants nothing: a child's microphone goes live only once they accepted.
        """
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
        if cmd.camera in (self.floor.get(p.id), self.floor_offers.get(p.id)):
            return [], {}
        if self.floor.get(p.id) and not cmd.camera:
            return [e.FloorGiven(p.id, False)], {}  # less than they accepted: no need to ask
        return [e.FloorOffered(p.id, cmd.camera)], {}

    def _decide_answer_floor(self, actor: Actor, cmd: c.AnswerFloor, now: int) -> Any:
        pid = self.require_present(actor).id
        camera = self.floor_offers.get(pid)
        if camera is None:
            raise Refused("no-floor-offer", "The teacher has not offered you the floor.")
        return [e.FloorGiven(pid, camera) if cmd.accept else e.FloorDeclined(pid)], {}

    def _decide_take_floor(self, actor: Actor, cmd: c.TakeFloor, now: int) -> Any:
        self.require_teacher(actor)
        pid = cmd.participant_id
        if pid not in self.floor and pid not in self.floor_offers:
            return [], {}
        return [e.FloorTaken(pid)], {}  # also withdraws an offer not yet answered

    def _apply_floor_offered(self, ev: e.FloorOffered, ts: int) -> None:
        self.floor_offers[ev.participant_id] = ev.camera

    def _apply_floor_given(self, ev: e.FloorGiven, ts: int) -> None:
        self.floor[ev.participant_id] = ev.camera
        self.floor_offers.pop(ev.participant_id, None)

    def _apply_floor_declined(self, ev: e.FloorDeclined, ts: int) -> None:
        self.floor_offers.pop(ev.participant_id, None)

    def _apply_floor_taken(self, ev: e.FloorTaken, ts: int) -> None:
        self.floor.pop(ev.participant_id, None)
        self.floor_offers.pop(ev.participant_id, None)
