"""Presence with reasons, attendance checks and the report rules, on explicit timelines."""

from __future__ import annotations

from typing import Any

import pytest

from core import commands as c
from core import events as e
from core.errors import Refused
from core.lesson import SYSTEM, Actor, Lesson
from core.report import RosterEntry, Thresholds, lesson_report
from core.rules import Rules

T = 1_700_000_000_000
MIN = 60_000
TEACHER = Actor("t1", "teacher", "Aigul")
KIDS = [Actor(f"s{i}", "student", f"Kid {i}") for i in range(4)]
ROSTER = [RosterEntry(a.participant_id, a.name) for a in KIDS]


class Run:
    """A lesson and its log, driven at explicit times."""

    def __init__(self, rules: Rules | None = None, check_times: tuple[int, ...] = ()) -> None:
        self.lesson = Lesson("L", "C", rules or Rules(grace_ms=2 * MIN, check_window_ms=MIN))
        self.log: list[e.Record] = []
        self.do(TEACHER, c.StartLesson("Physics", "t1", True, check_times), 0)

    def do(self, actor: Actor, command: c.Command, at_min: float) -> dict[str, Any]:
        out = self.lesson.execute(actor, command, T + int(at_min * MIN))
        self.log += out.records
        return out.result

    def tick(self, at_min: float) -> None:
        for command in self.lesson.due(T + int(at_min * MIN)):
            self.do(SYSTEM, command, at_min)

    def report(self, at_min: float, rules: Thresholds | None = None) -> dict[str, Any]:
        return lesson_report(self.log, ROSTER, rules or Thresholds(), T + int(at_min * MIN))

    def row(self, pid: str, at_min: float = 60) -> dict[str, Any]:
        rows: dict[str, dict[str, Any]] = {r["id"]: r for r in self.report(at_min)["learners"]}
        return rows[pid]


def test_a_drop_and_return_is_one_learner_with_one_network_gap() -> None:
    run = Run()
    run.do(KIDS[0], c.Join(), 1)
    run.do(KIDS[0], c.ConnectionLost(last_seen_ms=T + 10 * MIN), 10.3)  # noticed late
    run.do(KIDS[0], c.Join(), 10.5)
    run.do(TEACHER, c.EndLesson(), 60)
    row = run.row("s0")
    assert [s["state"] for s in row["segments"]] == ["present", "network", "present"]
    assert row["gaps"]["network"] == {"count": 1, "minutes": 0.5}  # from last heard, not 0.3
    assert row["minutes_present"] == 58.5 and row["status"] == "present"


def test_rejoin_after_the_grace_window_still_one_learner_but_off_the_roster_meanwhile() -> None:
    run = Run()
    run.do(KIDS[0], c.Join(), 0)
    run.do(KIDS[0], c.RaiseHand(), 1)
    run.do(KIDS[0], c.ConnectionLost(), 5)
    run.tick(6)
    assert run.lesson.participants["s0"].presence == "away" and run.lesson.hands == ["s0"]
    run.tick(7)
    assert run.lesson.participants["s0"].view()["presence"] == "left" and run.lesson.hands == []
    run.do(KIDS[0], c.Join(), 20)
    row = run.row("s0", 30)
    assert row["gaps"]["network"] == {"count": 1, "minutes": 15.0}
    assert len(run.report(30)["learners"]) == 4


def test_a_resume_counts_the_grace_from_the_drop_not_from_the_join() -> None:
    run = Run()  # grace: 2 minutes
    run.do(KIDS[0], c.Join(), 0)
    run.do(KIDS[1], c.Join(), 0)
    run.do(KIDS[0], c.ConnectionLost(), 30)
    run.do(KIDS[0], c.Join(resume=True), 30 + 5 / 60)  # 30 minutes in, 5 s away: welcome back
    run.do(KIDS[1], c.ConnectionLost(), 40)
    replayed = Lesson("L", "C", run.lesson.rules)  # a restart: the drop time is in the log
    for record in run.log:
        replayed.apply(record)
    for lesson in (run.lesson, replayed):
        with pytest.raises(Refused) as info:
            lesson.execute(KIDS[1], c.Join(resume=True), T + int(42.1 * MIN))
        assert info.value.code == "token-expired"
    run.tick(43)  # the expiry ran: still refused, but the personal link brings them back
    with pytest.raises(Refused) as info:
        run.do(KIDS[1], c.Join(resume=True), 44)
    assert info.value.code == "token-expired"
    run.do(KIDS[1], c.Join(), 45)
    assert run.lesson.participants["s1"].presence == "present"


def test_two_tabs_of_one_student_make_one_interval() -> None:
    run = Run()
    run.do(KIDS[0], c.Join(), 0)
    assert run.do(KIDS[0], c.Join(), 5) == {}
    run.do(TEACHER, c.EndLesson(), 30)
    assert [s["state"] for s in run.row("s0")["segments"]] == ["present"]


def test_background_is_its_own_state_not_leaving() -> None:
    run = Run()
    run.do(KIDS[1], c.Join(), 0)
    run.do(KIDS[1], c.SetVisibility(False), 10)
    run.do(KIDS[1], c.SetVisibility(True), 40)
    run.do(TEACHER, c.EndLesson(), 60)
    row = run.row("s1")
    assert row["minutes_background"] == 30 and row["minutes_present"] == 30
    assert row["status"] == "present"  # 30 of 60 minutes in front: the threshold is 0.5


def test_a_locked_phone_listening_that_answers_the_checks_is_present() -> None:
    run = Run()  # two checks, at 20 and 40 minutes, each open one minute
    run.do(KIDS[0], c.Join(), 0)
    run.do(KIDS[1], c.Join(), 0)
    run.do(KIDS[0], c.SetVisibility(False, listening=True), 2)  # sound only, screen locked
    run.do(KIDS[1], c.SetVisibility(False), 2)  # locked, nothing playing
    for at in (20, 40):
        check = run.do(TEACHER, c.StartCheck(), at)["check_id"]
        run.do(KIDS[0], c.SetVisibility(True), at + 0.2)  # the cue: unlock, answer, lock
        run.do(KIDS[0], c.AnswerCheck(check), at + 0.3)
        run.do(KIDS[0], c.SetVisibility(False, listening=True), at + 0.4)
        run.tick(at + 1.5)
    run.do(TEACHER, c.EndLesson(), 60)
    listener, silent = run.row("s0"), run.row("s1")
    assert listener["status"] == "present" and listener["minutes_present"] < 3
    assert listener["minutes_counted"] == 60 and listener["minutes_listening"] > 57
    assert [r["result"] for r in listener["checks"]] == ["answered", "answered"]
    assert silent["status"] == "absent" and silent["minutes_counted"] == 2
    assert [r["result"] for r in silent["checks"]] == ["missed", "missed"]
    assert {s["state"] for s in listener["segments"]} == {"present", "listening"}


def test_listening_through_a_missed_check_does_not_count() -> None:
    run = Run()
    run.do(KIDS[0], c.Join(), 0)
    run.do(KIDS[0], c.SetVisibility(False, listening=True), 10)
    run.do(TEACHER, c.StartCheck(), 30)
    run.tick(32)
    run.do(KIDS[0], c.SetVisibility(True), 35)  # not the stretch in which the check came
    run.do(TEACHER, c.EndLesson(), 60)
    row = run.row("s0")
    assert row["minutes_listening"] == 25 and row["minutes_counted"] == 35
    assert row["status"] == "present"


def test_shared_phone_three_learners_each_with_their_own_record() -> None:
    run = Run()
    for kid in KIDS[:3]:
        run.do(kid, c.Join(), 2)
    check = run.do(TEACHER, c.StartCheck(), 10)["check_id"]
    run.do(KIDS[0], c.AnswerCheck(check), 10.1)
    run.do(KIDS[2], c.AnswerCheck(check), 10.2)
    for kid in KIDS[:3]:
        run.do(kid, c.ConnectionLost(), 20)  # the phone's one connection dropped
    run.tick(11)
    rows = {r["id"]: r for r in run.report(30)["learners"]}
    assert [rows[f"s{i}"]["checks"][0]["result"] for i in range(4)] == [
        "answered",
        "missed",
        "answered",
        "not-present",
    ]
    assert rows["s2"]["checks"][0]["response_ms"] == int(0.2 * MIN)
    assert all(rows[f"s{i}"]["gaps"]["network"]["count"] == 1 for i in range(3))


def test_a_check_answered_by_three_of_four() -> None:
    run = Run()
    for kid in KIDS:
        run.do(kid, c.Join(), 0)
    check = run.do(TEACHER, c.StartCheck(), 5)["check_id"]
    for kid in KIDS[:3]:
        run.do(kid, c.AnswerCheck(check), 5.5)
    assert run.do(KIDS[0], c.AnswerCheck(check), 5.6)["duplicate"]
    run.tick(6)
    assert run.lesson.checks[0].closed
    with pytest.raises(Refused) as info:
        run.do(KIDS[3], c.AnswerCheck(check), 6.1)
    assert info.value.code == "check-closed"
    rows = run.report(10)["learners"]
    assert [r["checks_answered"] for r in rows] == [1, 1, 1, 0]
    assert [r["checks"][0]["result"] for r in rows][3] == "missed"


def test_an_answer_after_the_deadline_is_refused_even_before_the_close_is_logged() -> None:
    run = Run()
    run.do(KIDS[0], c.Join(), 0)
    check = run.do(TEACHER, c.StartCheck(window_s=30), 1)["check_id"]
    with pytest.raises(Refused, match="closed"):
        run.do(KIDS[0], c.AnswerCheck(check), 1.51)
    assert run.do(KIDS[0], c.Join(), 1.6) == {}


def test_a_learner_who_joins_during_the_window_may_answer() -> None:
    run = Run()
    check = run.do(TEACHER, c.StartCheck(), 1)["check_id"]
    run.do(KIDS[0], c.Join(), 1.5)
    run.do(KIDS[0], c.AnswerCheck(check), 1.6)
    assert run.lesson.check_expected(run.lesson.checks[0], run.lesson.attended()) == {"s0"}


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (c.StartCheck(), "forbidden"),
        (c.CloseCheck(1), "forbidden"),
        (c.AnswerCheck(9), "unknown-check"),
    ],
)
def test_check_refusals(command: c.Command, code: str) -> None:
    run = Run()
    run.do(KIDS[0], c.Join(), 0)
    run.do(TEACHER, c.StartCheck(), 1)
    with pytest.raises(Refused) as info:
        run.do(KIDS[0], command, 1.1)
    assert info.value.code == code


def test_only_one_check_at_a_time() -> None:
    run = Run()
    run.do(TEACHER, c.StartCheck(), 1)
    with pytest.raises(Refused) as info:
        run.do(TEACHER, c.StartCheck(), 1.2)
    assert info.value.code == "check-open"


def test_scheduled_checks_start_by_themselves_at_their_times() -> None:
    run = Run(check_times=(T + 10 * MIN, T + 20 * MIN))
    run.do(KIDS[0], c.Join(), 0)
    run.tick(9)
    assert run.lesson.checks == []
    run.tick(10)
    run.tick(11)  # closes it
    run.tick(20)
    assert [(ch.id, ch.scheduled) for ch in run.lesson.checks] == [(1, True), (2, True)]
    run.tick(30)
    assert len(run.lesson.checks) == 2


def test_a_lesson_restarted_from_the_log_shows_the_outage() -> None:
    run = Run()
    run.do(KIDS[0], c.Join(), 0)
    replayed = Lesson("L", "C", run.lesson.rules)
    for record in run.log:
        replayed.apply(record)
    run.lesson = replayed
    run.do(SYSTEM, c.NoteRestart(T + 10 * MIN), 12)
    run.do(KIDS[0], c.Join(), 13)
    row = run.row("s0", 20)
    assert [s["state"] for s in row["segments"]] == ["present", "server", "present"]
    assert row["gaps"]["server"]["minutes"] == 3.0


@pytest.mark.parametrize(
    ("join_min", "leave_min", "status"),
    [
        (None, None, "absent"),
        (0, 60, "present"),
        (12, 60, "late"),
        (0, 45, "left-early"),
        (25, 60, "late"),
        (40, 60, "absent"),  # only 20 of 60 minutes
    ],
)
def test_suggested_status(join_min: float | None, leave_min: float, status: str) -> None:
    run = Run()
    if join_min is not None:
        run.do(KIDS[0], c.Join(), join_min)
        run.do(KIDS[0], c.Leave(), leave_min)
    run.do(TEACHER, c.EndLesson(), 60)
    assert run.row("s0")["status"] == status


def test_guests_are_reported_after_the_roster() -> None:
    run = Run()
    guest = Actor("g1", "guest", "Visitor")
    run.do(guest, c.Join(), 1)
    run.do(TEACHER, c.AdmitGuest("g1"), 2)
    rows = run.report(10)["learners"]
    assert [r["id"] for r in rows] == ["s0", "s1", "s2", "s3", "g1"] and rows[-1]["guest"]
    assert rows[-1]["segments"][0]["state"] == "waiting"
