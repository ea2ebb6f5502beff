"""The floor in the pure core: offered by the teacher, accepted or declined by the student."""

from __future__ import annotations

import pytest

from core import commands as c
from core import events as e
from core.errors import Refused
from core.lesson import Lesson, Outcome
from core.views import outgoing, snapshot
from tests.test_core_lesson import ANA, BEK, T0, TEACHER, live, state


def floor_messages(lesson: Lesson, out: Outcome) -> list[dict[str, object]]:
    return [o.body() for r in out.records for o in outgoing(lesson, r) if o.name == "floor"]


def test_an_offer_grants_nothing_until_the_student_accepts() -> None:
    lesson = live()
    assert lesson.may_publish("t1") == {"mic", "camera", "screen"}
    out = lesson.execute(TEACHER, c.GiveFloor("s1"), T0 + 100)
    assert [type(r.event) for r in out.records] == [e.FloorOffered]
    assert floor_messages(lesson, out) == [
        {"participant_id": "s1", "camera": False, "given": False, "state": "offered"}
    ]
    assert lesson.may_publish("s1") == frozenset()
    assert snapshot(lesson, "s1")["floor_offers"] == [{"participant_id": "s1", "camera": False}]
    out = lesson.execute(ANA, c.AnswerFloor(accept=True), T0 + 200)
    assert [(type(r.event), r.actor) for r in out.records] == [(e.FloorGiven, "s1")]
    assert floor_messages(lesson, out)[0]["state"] == "given"
    assert lesson.may_publish("s1") == {"mic"}
    assert snapshot(lesson, "s1")["floor_offers"] == []


def test_declining_ends_the_offer_and_grants_nothing() -> None:
    lesson = live()
    lesson.execute(TEACHER, c.GiveFloor("s1", camera=True), T0 + 100)
    out = lesson.execute(ANA, c.AnswerFloor(accept=False), T0 + 200)
    assert [type(r.event) for r in out.records] == [e.FloorDeclined]
    assert floor_messages(lesson, out) == [
        {"participant_id": "s1", "camera": False, "given": False, "state": "declined"}
    ]
    assert lesson.may_publish("s1") == frozenset()
    assert lesson.floor_offers == {} and lesson.floor == {}
    with pytest.raises(Refused) as info:  # the offer is over: accepting now is refused
        lesson.execute(ANA, c.AnswerFloor(accept=True), T0 + 300)
    assert info.value.code == "no-floor-offer"


@pytest.mark.parametrize(
    ("who", "command", "code"),
    [
        (ANA, c.GiveFloor("s2"), "forbidden"),
        (ANA, c.AnswerFloor(accept=True), "no-floor-offer"),
        (BEK, c.AnswerFloor(accept=True), "no-floor-offer"),  # offered to someone else
        (TEACHER, c.GiveFloor("t1"), "not-present"),
        (TEACHER, c.GiveFloor("nobody"), "unknown-participant"),
    ],
)
def test_refusals_change_nothing(who: object, command: c.Command, code: str) -> None:
    lesson = live()
    if who is BEK:
        lesson.execute(TEACHER, c.GiveFloor("s1"), T0 + 50)
    before = state(lesson)
    with pytest.raises(Refused) as info:
        lesson.execute(who, command, T0 + 100)  # type: ignore[arg-type]
    assert info.value.code == code
    assert state(lesson) == before


def test_the_camera_is_asked_for_again_less_is_not() -> None:
    lesson = live()
    lesson.execute(TEACHER, c.GiveFloor("s1"), T0 + 100)
    lesson.execute(ANA, c.AnswerFloor(accept=True), T0 + 150)
    out = lesson.execute(TEACHER, c.GiveFloor("s1", camera=True), T0 + 200)
    assert [type(r.event) for r in out.records] == [e.FloorOffered]
    assert lesson.may_publish("s1") == {"mic"}  # the camera waits for the answer
    lesson.execute(ANA, c.AnswerFloor(accept=True), T0 + 250)
    assert lesson.may_publish("s1") == {"mic", "camera"}
    out = lesson.execute(TEACHER, c.GiveFloor("s1", camera=False), T0 + 300)
    assert [type(r.event) for r in out.records] == [e.FloorGiven]
    assert lesson.may_publish("s1") == {"mic"}
    # Declining the camera keeps the microphone they already accepted.
    lesson.execute(TEACHER, c.GiveFloor("s1", camera=True), T0 + 350)
    out = lesson.execute(ANA, c.AnswerFloor(accept=False), T0 + 400)
    assert floor_messages(lesson, out)[0]["given"] is True
    assert lesson.may_publish("s1") == {"mic"}


def test_taking_back_withdraws_an_offer_and_leaving_drops_both() -> None:
    lesson = live()
    lesson.execute(TEACHER, c.GiveFloor("s1"), T0 + 100)
    out = lesson.execute(TEACHER, c.TakeFloor("s1"), T0 + 150)
    assert floor_messages(lesson, out)[0]["state"] == "taken"
    assert lesson.floor_offers == {}
    assert lesson.execute(TEACHER, c.TakeFloor("s1"), T0 + 160).records == ()
    lesson.execute(TEACHER, c.GiveFloor("s2"), T0 + 200)
    lesson.execute(BEK, c.AnswerFloor(accept=True), T0 + 250)
    lesson.execute(TEACHER, c.GiveFloor("s1"), T0 + 300)
    lesson.execute(BEK, c.Leave(), T0 + 400)
    lesson.execute(ANA, c.Leave(), T0 + 400)
    assert lesson.floor == {} and lesson.floor_offers == {}


def test_the_floor_replays_from_the_log() -> None:
    lesson = live()
    records: list[e.Record] = []
    for who, cmd in [
        (TEACHER, c.GiveFloor("s1", camera=True)),
        (ANA, c.AnswerFloor(accept=True)),
        (TEACHER, c.GiveFloor("s2")),
    ]:
        records += lesson.execute(who, cmd, T0 + 100).records
    again = live()
    for record in records:
        again.apply(record)
    assert (again.floor, again.floor_offers) == ({"s1": True}, {"s2": False})
