"""The floor: the teacher offers a student the floor, the student accepts (or declines) and
speaks (and is seen, if allowed), then the teacher takes it back."""

from __future__ import annotations

from core import commands as c
from core import events as e
from core.errors import Refused
from core.state import Actor, LessonState, require_live, require_present, require_teacher, target
from core.tables import Decision, decider, feature, fold


def drop(state: LessonState, pid: str) -> None:
    """Someone who goes loses the floor and any offer of it."""
    state.floor.pop(pid, None)
    state.floor_offers.pop(pid, None)


def may_publish(state: LessonState, pid: str) -> frozenset[str]:
    """What a participant may publish: the teacher everything, the floor a microphone.

    An offer grants nothing: a child's microphone goes live only once they accepted.
    """
    p = state.participants.get(pid)
    if p is None or p.presence != "present":
        return frozenset()
    if p.role == "teacher":
        return frozenset({"mic", "camera", "screen"})
    if pid in state.floor:
        return frozenset({"mic", "camera"} if state.floor[pid] else {"mic"})
    return frozenset()


def give_floor(state: LessonState, actor: Actor, cmd: c.GiveFloor, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    p = target(state, cmd.participant_id)
    if p.role == "teacher" or p.presence != "present":
        raise Refused("not-present", "Only a present student can be given the floor.")
    if cmd.camera in (state.floor.get(p.id), state.floor_offers.get(p.id)):
        return Decision()
    if state.floor.get(p.id) and not cmd.camera:
        return Decision([e.FloorGiven(p.id, False)])  # less than they accepted: no need to ask
    return Decision([e.FloorOffered(p.id, cmd.camera)])


def answer_floor(state: LessonState, actor: Actor, cmd: c.AnswerFloor, now: int) -> Decision:
    pid = require_present(state, actor).id
    camera = state.floor_offers.get(pid)
    if camera is None:
        raise Refused("no-floor-offer", "The teacher has not offered you the floor.")
    return Decision([e.FloorGiven(pid, camera) if cmd.accept else e.FloorDeclined(pid)])


def take_floor(state: LessonState, actor: Actor, cmd: c.TakeFloor, now: int) -> Decision:
    require_teacher(actor)
    pid = cmd.participant_id
    if pid not in state.floor and pid not in state.floor_offers:
        return Decision()
    return Decision([e.FloorTaken(pid)])  # also withdraws an offer not yet answered


def floor_offered(state: LessonState, ev: e.FloorOffered, ts: int) -> None:
    state.floor_offers[ev.participant_id] = ev.camera


def floor_given(state: LessonState, ev: e.FloorGiven, ts: int) -> None:
    state.floor[ev.participant_id] = ev.camera
    state.floor_offers.pop(ev.participant_id, None)


def floor_declined(state: LessonState, ev: e.FloorDeclined, ts: int) -> None:
    state.floor_offers.pop(ev.participant_id, None)


def floor_taken(state: LessonState, ev: e.FloorTaken, ts: int) -> None:
    drop(state, ev.participant_id)


FEATURE = feature(
    "floor",
    deciders=[
        decider(c.GiveFloor, give_floor),
        decider(c.AnswerFloor, answer_floor),
        decider(c.TakeFloor, take_floor),
    ],
    folds=[
        fold(e.FloorOffered, floor_offered),
        fold(e.FloorGiven, floor_given),
        fold(e.FloorDeclined, floor_declined),
        fold(e.FloorTaken, floor_taken),
    ],
)
