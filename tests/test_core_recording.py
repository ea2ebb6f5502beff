"""Recording in the pure core: the teacher starts and stops it, the server notes a failure and
the recovery, every page is told, and the log replays to the same state."""

from __future__ import annotations

import pytest

from core import commands as c
from core import events as e
from core.errors import Refused
from core.lesson import SYSTEM, Actor, Lesson, Outcome
from core.rules import Rules
from core.views import outgoing, snapshot
from tests.test_core_lesson import ANA, T0, TEACHER, live, state


def kinds(out: Outcome) -> list[tuple[type[e.Event], str]]:
    return [(type(r.event), r.actor) for r in out.records]


def told(lesson: Lesson, out: Outcome) -> list[tuple[str, dict[str, object]]]:
    return [
        (o.audience, o.body()) for r in out.records for o in outgoing(lesson, r)
        if o.name == "recording"
    ]  # fmt: skip


def test_the_teacher_starts_and_stops_and_everyone_is_told() -> None:
    lesson = live()
    assert snapshot(lesson, "s1")["recording"] == {"state": "off", "since": None, "reason": ""}
    out = lesson.execute(TEACHER, c.StartRecording(), T0 + 100)
    assert kinds(out) == [(e.RecordingStarted, "t1")]
    assert out.records[0].event == e.RecordingStarted("teacher", False)
    assert told(lesson, out) == [("all", {"state": "on", "since": T0 + 100, "reason": ""})]
    assert snapshot(lesson, "s1")["recording"]["state"] == "on"  # a late joiner sees it
    out = lesson.execute(TEACHER, c.StopRecording(), T0 + 200)
    assert kinds(out) == [(e.RecordingStopped, "t1")]
    assert told(lesson, out) == [("all", {"state": "off", "since": T0 + 200, "reason": "teacher"})]


@pytest.mark.parametrize(
    ("setup", "command", "actor"),
    [
        ([], c.StopRecording(), TEACHER),  # not recording
        ([c.StartRecording()], c.StartRecording(), TEACHER),  # already
        ([], c.FailRecording("disk-full"), SYSTEM),  # nothing to fail
        ([], c.StartRecording(resumed=True), SYSTEM),  # nothing failed
        ([c.StartRecording()], c.StartRecording(resumed=True), SYSTEM),  # it did not fail
        ([c.StartRecording(), c.FailRecording("disk-full")], c.StartRecording(), TEACHER),
        ([c.StartRecording(), c.FailRecording("disk-full")], c.FailRecording("disk-full"), SYSTEM),
    ],
)
def test_what_changes_nothing_logs_nothing(
    setup: list[c.Command], command: c.Command, actor: Actor
) -> None:
    lesson = live()
    for step in setup:
        who = SYSTEM if isinstance(step, c.FailRecording) else TEACHER
        lesson.execute(who, step, T0 + 50)
    before = state(lesson)
    assert lesson.execute(actor, command, T0 + 100).records == ()
    assert state(lesson) == before


@pytest.mark.parametrize(
    ("actor", "command", "code"),
    [
        (ANA, c.StartRecording(), "forbidden"),
        (ANA, c.StopRecording(), "forbidden"),
        (TEACHER, c.FailRecording("disk-full"), "forbidden"),
        (ANA, c.FailRecording("disk-full"), "forbidden"),
        (SYSTEM, c.FailRecording("bored"), "invalid-payload"),
    ],
)
def test_refusals_change_nothing(actor: Actor, command: c.Command, code: str) -> None:
    lesson = live()
    lesson.execute(TEACHER, c.StartRecording(), T0 + 50)
    before = state(lesson)
    with pytest.raises(Refused) as refused:
        lesson.execute(actor, command, T0 + 100)
    assert refused.value.code == code
    assert state(lesson) == before


def test_a_student_cannot_resume_a_failed_recording() -> None:
    lesson = live()
    lesson.execute(TEACHER, c.StartRecording(), T0 + 50)
    lesson.execute(SYSTEM, c.FailRecording("write-error"), T0 + 60)
    with pytest.raises(Refused):
        lesson.execute(ANA, c.StartRecording(resumed=True), T0 + 70)
    assert lesson.execute(TEACHER, c.StartRecording(resumed=True), T0 + 70).records == ()
    assert lesson.recording == "failed"


def test_a_failure_is_logged_told_and_resumed_by_the_server() -> None:
    lesson = live()
    lesson.execute(TEACHER, c.StartRecording(), T0 + 50)
    out = lesson.execute(SYSTEM, c.FailRecording("disk-full"), T0 + 100)
    assert kinds(out) == [(e.RecordingFailed, "system")]
    assert told(lesson, out) == [
        ("all", {"state": "failed", "since": T0 + 100, "reason": "disk-full"})
    ]
    out = lesson.execute(SYSTEM, c.StartRecording(resumed=True), T0 + 200)
    assert out.records[0].event == e.RecordingStarted("server", True)
    assert lesson.recording == "on"
    # The teacher may stop a failed recording too: it then does not resume.
    lesson.execute(SYSTEM, c.FailRecording("worker-lost"), T0 + 300)
    assert kinds(lesson.execute(TEACHER, c.StopRecording(), T0 + 400)) == [
        (e.RecordingStopped, "t1")
    ]
    assert lesson.execute(SYSTEM, c.StartRecording(resumed=True), T0 + 500).records == ()


def snapshot_state(lesson: Lesson) -> str:
    return lesson.recording  # read anew: mypy narrowed it to "on" above


def test_recorded_by_default_from_the_start_and_stopped_by_the_end() -> None:
    lesson = live(rules=Rules(record_by_default=True))
    assert lesson.recording == "on"
    out = lesson.execute(TEACHER, c.EndLesson(), T0 + 1000)
    names = [type(r.event) for r in out.records]
    assert names.index(e.RecordingStopped) < names.index(e.LessonEnded)
    assert out.records[names.index(e.RecordingStopped)].event == e.RecordingStopped("lesson-ended")
    assert snapshot_state(lesson) == "off"
    plain = live()
    assert plain.recording == "off"
    ended = plain.execute(TEACHER, c.EndLesson(), T0 + 1000)
    assert e.RecordingStopped not in [type(r.event) for r in ended.records]


def test_the_log_replays_to_the_same_recording_state() -> None:
    lesson = live()
    records: list[e.Record] = []
    for actor, command in (
        (TEACHER, c.StartRecording()),
        (SYSTEM, c.FailRecording("disk-full")),
        (SYSTEM, c.StartRecording(resumed=True)),
    ):
        records += lesson.execute(actor, command, T0 + 100 + len(records)).records
    again = live()
    for record in records:
        again.apply(record)
    assert (again.recording, again.recording_since) == (lesson.recording, lesson.recording_since)
    assert e.event_from_dict("RecordingStarted", {"resumed": True}) == e.RecordingStarted(
        "teacher", True
    )
