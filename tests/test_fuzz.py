"""Property-based fuzz of every event schema: only refusals, never crashes or half changes."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import commands as c
from core.errors import Refused
from core.lesson import Actor, Lesson
from core.rules import Rules
from core.views import outgoing, snapshot
from signaling.protocol import INBOUND, Handler
from signaling.schema import Field, Spec

T0 = 1_700_000_000_000
TEACHER, KID, GUEST = (
    Actor("t", "teacher", "T"),
    Actor("s", "student", "S"),
    Actor("g", "guest", "G"),
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def plausible(field: Field) -> st.SearchStrategy[Any]:
    """Mostly values of the right type near the bounds, sometimes anything at all."""
    typed: dict[type, st.SearchStrategy[Any]] = {
        str: st.sampled_from(field.choices) if field.choices else st.text(max_size=80),
        int: st.integers(-3, 12),
        float: st.floats(-1e13, 1e13) | st.integers(-5, 50),
        bool: st.booleans(),
        list: st.lists(st.integers(-1, 13) | st.text(max_size=20) | st.floats(), max_size=14),
        object: JSON,
    }
    if isinstance(field.items, Spec):
        typed[list] = st.lists(payload_for(field.items), max_size=3)
    return typed.get(field.kind, JSON) | JSON


def payload_for(spec: Spec) -> st.SearchStrategy[Any]:
    fields = {f.name: plausible(f) for f in spec.fields}
    required = {f.name for f in spec.fields if f.required}
    shaped = st.fixed_dictionaries({}, optional=fields) | st.fixed_dictionaries(
        {f.name: fields[f.name] for f in spec.fields if f.required},
        optional={k: v for k, v in fields.items() if k not in required},
    )  # fmt: skip
    return shaped | JSON


def busy_lesson() -> Lesson:
    lesson = Lesson("L", "C", Rules())
    run = lesson.execute
    run(TEACHER, c.StartLesson("x", "t", True), T0)
    for who in (TEACHER, KID, GUEST):
        run(who, c.Join(), T0)
    run(TEACHER, c.AdmitGuest("g"), T0)
    run(KID, c.SendChat("m", "hi"), T0)
    run(TEACHER, c.StartCheck(), T0)
    run(TEACHER, c.OpenPoll("single", "Q", ("a", "b")), T0)
    quiz = c.QuestionSpec("single", "Q", ("a", "b"), (0,), limit_s=30)
    run(TEACHER, c.StartQuiz("Q", (quiz,), "whole", 60, "seed"), T0)
    return lesson


def state(lesson: Lesson) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in vars(lesson).items() if k != "rules"}


EVENT_NAMES = sorted(name for name, ev in INBOUND.items() if ev.handler is Handler.RUN)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(EVENT_NAMES).flatmap(
        lambda name: st.tuples(st.just(name), payload_for(INBOUND[name].schema))
    ),
    st.sampled_from([TEACHER, KID, GUEST]),
)
def test_any_payload_is_applied_or_refused_cleanly(event: tuple[str, Any], actor: Actor) -> None:
    name, payload = event
    lesson = busy_lesson()
    before = state(lesson)
    try:
        command = INBOUND[name].parse(payload).command()
        outcome = lesson.execute(actor, command, T0 + 1000)
    except Refused as refused:
        assert refused.code and refused.message
        assert state(lesson) == before
        return
    for record in outcome.records:
        outgoing(lesson, record)
    for pid in lesson.participants:
        snapshot(lesson, pid)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), JSON)
def test_unknown_events_and_non_object_payloads(name: str, payload: Any) -> None:
    from signaling.protocol import inbound

    try:
        inbound(name).parse(payload)
    except Refused as refused:
        assert refused.code in ("unknown-event", "invalid-payload")
