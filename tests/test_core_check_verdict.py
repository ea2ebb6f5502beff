"""One verdict per learner and check: the phone's own record and the report must agree."""

from __future__ import annotations

import pytest

from core import commands as c
from tests.test_core_attendance import KIDS, MIN, TEACHER, Run, T

KID = KIDS[0]
Step = tuple[float, str, c.Command]  # (minute, "kid" or "teacher", command)

# A check starts at minute 10 with a one-minute window (deadline at 11); the server's tick
# at 11.5 closes it if the teacher has not.
CASES: dict[str, tuple[list[Step], str]] = {
    "answered": ([(0, "kid", c.Join()), (10.5, "kid", c.AnswerCheck(1))], "answered"),
    "answered, then left in the window": (
        [(0, "kid", c.Join()), (10.3, "kid", c.AnswerCheck(1)), (10.5, "kid", c.Leave())],
        "answered",
    ),
    "present the whole window, no answer": ([(0, "kid", c.Join())], "missed"),
    "arrived during the window": ([(10.5, "kid", c.Join())], "missed"),
    "left during the window": ([(0, "kid", c.Join()), (10.5, "kid", c.Leave())], "missed"),
    "present when the teacher closed it early": (
        [(0, "kid", c.Join()), (10.2, "teacher", c.CloseCheck(1))],
        "missed",
    ),
    "arrived after an early close": (
        [(10.2, "teacher", c.CloseCheck(1)), (10.5, "kid", c.Join())],
        "not-present",
    ),
    "arrived after the deadline, before the close was logged": (
        [(11.2, "kid", c.Join())],
        "not-present",
    ),
    "left before the start": ([(0, "kid", c.Join()), (9, "kid", c.Leave())], "not-present"),
    "last heard before the start, the drop noticed after it": (
        [(0, "kid", c.Join()), (10.3, "kid", c.ConnectionLost(last_seen_ms=T + int(9.5 * MIN)))],
        "not-present",
    ),
    "never came": ([], "not-present"),
}


def _run(steps: list[Step]) -> Run:
    run = Run()
    timeline = sorted([(10.0, "teacher", c.StartCheck()), *steps], key=lambda step: step[0])
    for at_min, who, command in timeline:
        run.do(KID if who == "kid" else TEACHER, command, at_min)
    run.tick(11.5)
    return run


@pytest.mark.parametrize(("steps", "verdict"), CASES.values(), ids=CASES.keys())
def test_the_phone_and_the_report_give_the_same_verdict(steps: list[Step], verdict: str) -> None:
    run = _run(steps)
    on_the_phone = run.lesson.my_checks(KID.participant_id)[0]["result"]
    in_the_report = run.row(KID.participant_id, 30)["checks"][0]["result"]
    assert (on_the_phone, in_the_report) == (verdict, verdict)


def test_a_learner_who_arrives_after_the_teacher_closed_the_check_early_was_not_present() -> None:
    run = Run()
    run.do(KIDS[1], c.Join(), 1)
    check = run.do(TEACHER, c.StartCheck(), 10)["check_id"]  # deadline at minute 11
    run.do(TEACHER, c.CloseCheck(check), 10.2)
    run.do(KID, c.Join(), 10.5)  # too late to answer: the check is closed
    run.do(TEACHER, c.EndLesson(), 40)
    rows = {r["id"]: r for r in run.report(40)["learners"]}
    for pid, verdict in ((KID.participant_id, "not-present"), ("s1", "missed")):
        assert run.lesson.my_checks(pid)[0]["result"] == verdict
        assert rows[pid]["checks"][0]["result"] == verdict
