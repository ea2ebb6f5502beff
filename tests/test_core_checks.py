"""The attendance check's pure rules: its window, its verdict, its tally, its random moments."""

from __future__ import annotations

import random

import pytest

from core import commands as c
from core.checks import Window, check_verdict, check_window, draw_check_times
from core.presence import FOREVER, Span
from tests.test_core_attendance import KIDS, TEACHER, Run

MIN = 60_000


@pytest.mark.parametrize(
    ("closed_ms", "window"),
    [
        (None, Window(1000, 5001)),  # still open: up to the deadline, which takes an answer
        (5000, Window(1000, 5000)),  # closed by the server at its deadline
        (7000, Window(1000, 5001)),  # closed late (a slow tick): the deadline still ends it
        (2000, Window(1000, 2000)),  # closed early by the teacher
    ],
)
def test_the_window_ends_at_the_close_or_the_deadline_whichever_came_first(
    closed_ms: int | None, window: Window
) -> None:
    assert check_window(1000, 5000, closed_ms) == window


WINDOW = Window(1000, 2000)


@pytest.mark.parametrize(
    ("answered", "spans", "verdict"),
    [
        (True, [], "answered"),  # an answer is the answer, whatever the timeline says
        (False, [(0, FOREVER)], "missed"),  # there the whole time
        (False, [(1500, 1600)], "missed"),  # came and went inside the window
        (False, [(0, 1001)], "missed"),  # there for its first moment
        (False, [(1999, 3000)], "missed"),  # came at its last moment
        (False, [(0, 1000)], "not-present"),  # gone as it started
        (False, [(2000, 3000)], "not-present"),  # came as it closed
        (False, [(0, 500), (2500, FOREVER)], "not-present"),  # away for all of it
        (False, [(0, 500), (1200, 1300), (2500, FOREVER)], "missed"),  # back for a moment
        (False, [(0, 500), (900, 1000), (2000, 2100)], "not-present"),  # away in between
        (False, [], "not-present"),
    ],
)
def test_the_verdict(answered: bool, spans: list[Span], verdict: str) -> None:
    assert check_verdict(answered, WINDOW, spans) == verdict


def test_the_live_tally_expects_whom_the_report_does_not_find_not_present() -> None:
    run = Run()
    for kid in KIDS[:3]:
        run.do(kid, c.Join(), 0)
    run.do(KIDS[2], c.Leave(), 5)
    check = run.do(TEACHER, c.StartCheck(), 10)["check_id"]
    run.do(KIDS[0], c.AnswerCheck(check), 10.1)
    run.do(TEACHER, c.CloseCheck(check), 10.2)
    run.do(KIDS[3], c.Join(), 10.5)  # after the early close
    tally = run.lesson.check_tally(run.lesson.checks[0])
    counted = [r for r in run.report(20)["learners"] if r["checks"][0]["result"] != "not-present"]
    assert (tally["answered"], tally["expected"]) == (1, 2) and len(counted) == 2


LESSON_MS = 45 * MIN


def test_the_draw_is_the_random_source_s_alone() -> None:
    first = draw_check_times(0, LESSON_MS, 3, random.Random(7))
    assert first == draw_check_times(0, LESSON_MS, 3, random.Random(7))
    assert first != draw_check_times(0, LESSON_MS, 3, random.Random(8))
    shifted = draw_check_times(10_000, LESSON_MS, 3, random.Random(7))
    assert shifted == tuple(t + 10_000 for t in first)


@pytest.mark.parametrize(
    ("planned_ms", "count", "margin"),
    [(LESSON_MS, 3, 5 * MIN), (LESSON_MS, 20, 5 * MIN), (8 * MIN, 4, 2 * MIN)],
)
def test_drawn_checks_are_distinct_and_away_from_the_lesson_s_edges(
    planned_ms: int, count: int, margin: int
) -> None:
    start = 1_700_000_000_000
    for seed in range(300):
        times = draw_check_times(start, planned_ms, count, random.Random(seed))
        assert len(set(times)) == count and list(times) == sorted(times)
        assert all(start + margin <= t <= start + planned_ms - margin for t in times)


def test_no_random_checks_is_no_moments() -> None:
    assert draw_check_times(0, LESSON_MS, 0, random.Random(1)) == ()
