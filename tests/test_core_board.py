"""The board in the pure core: show, turn, strokes, undo, clear, floor drawing; bounds and
refusals (which change nothing), the snapshot for late joiners, and replay from the log."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from core import commands as c
from core import events as e
from core.board_replay import board_at, board_moments
from core.errors import Refused
from core.lesson import Actor, Lesson
from core.report import Thresholds, lesson_report
from core.rules import Rules
from core.views import outgoing, snapshot
from tests.test_core_lesson import ANA, BEK, T0, TEACHER, live, state

DECK = "ab" * 32


def shown(deck: str | None = DECK, page: int = 1) -> Lesson:
    lesson = live(rules=Rules(board_stroke_rate=3, board_stroke_window_ms=1000,
                              board_max_points=4, board_max_strokes=5))  # fmt: skip
    lesson.execute(TEACHER, c.ShowBoard(deck, page, pages=20, title="Fractions"), T0 + 50)
    return lesson


def stroke(cid: str = "k1", points: tuple[int, ...] = (0, 0, 10000, 10000), **kw: Any) -> Any:
    return c.AddStroke(cid, points, **kw)


def test_show_turn_and_strokes_reach_everyone_and_the_snapshot() -> None:
    lesson = shown(page=2)
    board = snapshot(lesson, "s1")["board"]
    assert (board["deck"], board["page"], board["pages"], board["board"]) == (
        DECK,
        2,
        20,
        f"{DECK}:2",
    )
    out = lesson.execute(TEACHER, stroke(color="red", width=40), T0 + 100)
    assert out.result == {"stroke_id": 1}
    [msg] = [o for r in out.records for o in outgoing(lesson, r)]
    assert (msg.audience, msg.name) == ("all", "stroke")
    assert msg.body()["points"] == [0, 0, 10000, 10000] and msg.body()["board"] == f"{DECK}:2"
    out = lesson.execute(TEACHER, c.TurnPage(3), T0 + 200)
    [msg] = [o for r in out.records for o in outgoing(lesson, r)]
    assert msg.name == "board" and msg.body()["page"] == 3 and msg.body()["strokes"] == []
    lesson.execute(TEACHER, c.TurnPage(2), T0 + 300)  # back: page 2's stroke is still there
    assert [s["id"] for s in snapshot(lesson, "s2")["board"]["strokes"]] == [1]


def test_a_blank_board_has_its_own_strokes() -> None:
    lesson = shown()
    lesson.execute(TEACHER, stroke("a"), T0 + 100)
    lesson.execute(TEACHER, c.ShowBoard(None, 1), T0 + 200)
    board = snapshot(lesson, "s1")["board"]
    assert (board["deck"], board["board"], board["strokes"]) == (None, "blank:1", [])
    assert board["pages"] == Rules().board_blank_pages


def test_undo_takes_back_ones_own_last_stroke_and_clear_empties_the_board() -> None:
    lesson = shown()
    lesson.execute(TEACHER, c.GiveFloor("s1"), T0 + 60)
    lesson.execute(ANA, c.AnswerFloor(True), T0 + 70)
    lesson.execute(TEACHER, c.AllowFloorDrawing(True), T0 + 80)
    lesson.execute(TEACHER, stroke("t1"), T0 + 100)
    lesson.execute(ANA, stroke("a1"), T0 + 110)
    lesson.execute(TEACHER, stroke("t2"), T0 + 120)
    out = lesson.execute(ANA, c.UndoStroke(), T0 + 200)
    assert [type(r.event) for r in out.records] == [e.StrokeUndone]
    assert out.result == {"stroke_id": 2}
    out = lesson.execute(TEACHER, c.UndoStroke(), T0 + 210)
    assert out.result == {"stroke_id": 3}
    assert [s["id"] for s in snapshot(lesson, "s1")["board"]["strokes"]] == [1]
    lesson.execute(TEACHER, c.ClearBoard(), T0 + 300)
    assert snapshot(lesson, "s1")["board"]["strokes"] == []
    with pytest.raises(Refused) as info:
        lesson.execute(TEACHER, c.UndoStroke(), T0 + 310)
    assert info.value.code == "nothing-to-undo"


def test_a_retried_stroke_is_stored_once() -> None:
    lesson = shown()
    first = lesson.execute(TEACHER, stroke("same"), T0 + 100)
    again = lesson.execute(TEACHER, stroke("same"), T0 + 200)
    assert again.records == () and again.result == {"stroke_id": 1, "duplicate": True}
    assert len(first.records) == 1


REFUSED = [
    (ANA, stroke(), "drawing-not-allowed"),  # no floor
    (ANA, c.ShowBoard(DECK, 1, 20), "forbidden"),
    (ANA, c.TurnPage(2), "forbidden"),
    (ANA, c.ClearBoard(), "forbidden"),
    (ANA, c.AllowFloorDrawing(True), "forbidden"),
    (ANA, c.UndoStroke(), "drawing-not-allowed"),
    (TEACHER, c.TurnPage(21), "no-such-page"),
    (TEACHER, c.TurnPage(0), "no-such-page"),
    (TEACHER, c.ShowBoard(DECK, 3, 0), "unknown-deck"),
    (TEACHER, c.ShowBoard(None, 99), "no-such-page"),
    (TEACHER, stroke(points=(1, 2, 3)), "bad-stroke"),  # odd: an x without its y
    (TEACHER, stroke(points=()), "bad-stroke"),
    (TEACHER, stroke(points=(0, 0) * 5), "bad-stroke"),  # over board_max_points=4
    (TEACHER, stroke(points=(0, 10001)), "bad-stroke"),
    (TEACHER, stroke(color="pink"), "bad-stroke"),
    (TEACHER, stroke(width=1000), "bad-stroke"),
    (TEACHER, stroke(tool="laser"), "bad-stroke"),
]


@pytest.mark.parametrize(("who", "command", "code"), REFUSED)
def test_refusals_change_nothing(who: Actor, command: c.Command, code: str) -> None:
    lesson = shown()
    before = state(lesson)
    with pytest.raises(Refused) as info:
        lesson.execute(who, command, T0 + 100)
    assert info.value.code == code
    assert state(lesson) == before


def test_nothing_is_drawn_before_a_board_is_shown() -> None:
    lesson = live()
    for command in (stroke(), c.TurnPage(1), c.ClearBoard()):
        with pytest.raises(Refused) as info:
            lesson.execute(TEACHER, command, T0 + 100)
        assert info.value.code == "no-board"


def test_a_stroke_flood_is_refused_and_not_stored() -> None:
    lesson = shown()
    lesson.execute(TEACHER, c.GiveFloor("s1"), T0 + 60)
    lesson.execute(ANA, c.AnswerFloor(True), T0 + 70)
    lesson.execute(TEACHER, c.AllowFloorDrawing(True), T0 + 80)
    for i in range(3):
        lesson.execute(ANA, stroke(f"a{i}"), T0 + 100 + i)
    before = state(lesson)
    with pytest.raises(Refused) as info:
        lesson.execute(ANA, stroke("a3"), T0 + 200)
    assert info.value.code == "rate-limited" and state(lesson) == before
    lesson.execute(ANA, stroke("a3"), T0 + 1200)  # the window has passed
    for i in range(30):  # the teacher may draw ten times faster, still bounded
        lesson.execute(TEACHER, c.ClearBoard(), T0 + 2000 + i)
        lesson.execute(TEACHER, stroke(f"t{i}"), T0 + 2000 + i)
    with pytest.raises(Refused) as info:
        lesson.execute(TEACHER, stroke("t-over"), T0 + 2100)
    assert info.value.code == "rate-limited"


def test_a_full_board_refuses_more_strokes() -> None:
    lesson = shown()
    for i in range(5):
        lesson.execute(TEACHER, stroke(f"t{i}"), T0 + 100 + i)
    with pytest.raises(Refused) as info:
        lesson.execute(TEACHER, stroke("t6"), T0 + 200)
    assert info.value.code == "board-full"


def test_floor_drawing_is_allowed_only_while_holding_the_floor() -> None:
    lesson = shown()
    lesson.execute(TEACHER, c.AllowFloorDrawing(True), T0 + 60)
    with pytest.raises(Refused):
        lesson.execute(BEK, stroke("b"), T0 + 70)  # allowed, but Bek has no floor
    lesson.execute(TEACHER, c.GiveFloor("s2"), T0 + 80)
    lesson.execute(BEK, c.AnswerFloor(True), T0 + 90)
    assert lesson.execute(BEK, stroke("b"), T0 + 100).result == {"stroke_id": 1}
    lesson.execute(TEACHER, c.TakeFloor("s2"), T0 + 110)
    with pytest.raises(Refused):
        lesson.execute(BEK, stroke("b2"), T0 + 120)
    out = lesson.execute(TEACHER, c.AllowFloorDrawing(False), T0 + 130)
    assert [o.body() for r in out.records for o in outgoing(lesson, r)] == [{"allowed": False}]


def test_replay_rebuilds_the_board_and_the_report_names_the_decks() -> None:
    lesson = shown()
    records: list[e.Record] = []
    for who, command, at in [
        (TEACHER, stroke("1"), 100), (TEACHER, c.TurnPage(4), 200), (TEACHER, stroke("2"), 300),
        (TEACHER, stroke("3"), 310), (TEACHER, c.UndoStroke(), 320),
        (TEACHER, c.ShowBoard("cd" * 32, 2, 9, "Maps"), 400), (TEACHER, stroke("4"), 500),
        (TEACHER, c.ClearBoard(), 600), (TEACHER, c.ShowBoard(DECK, 4, 20, "Fractions"), 700),
    ]:  # fmt: skip
        records += lesson.execute(who, command, T0 + at).records
    replayed = Lesson("L1", "C1", lesson.rules)
    # Replay the whole log into a new lesson: the same board, page and strokes.
    full = [*_log_of(lesson), *records]
    for record in full:
        replayed.apply(record)
    assert snapshot(replayed, "s1")["board"] == snapshot(lesson, "s1")["board"]
    assert [s["id"] for s in snapshot(replayed, "s1")["board"]["strokes"]] == [2]
    report = lesson_report(full, [], Thresholds(), T0 + 1000)
    assert report["decks"] == [
        {"deck": DECK, "title": "Fractions", "pages": 20, "shown": [1, 4]},
        {"deck": "cd" * 32, "title": "Maps", "pages": 9, "shown": [2]},
    ]


def _log_of(lesson: Lesson) -> list[e.Record]:
    """The records that made `shown()`'s lesson, made again the same way."""
    again = Lesson("L1", "C1", lesson.rules)
    out: list[e.Record] = []
    out += again.execute(TEACHER, c.StartLesson("Algebra", "t1", True), T0).records
    for who in (TEACHER, ANA, BEK):
        out += again.execute(who, c.Join(), T0 + 10).records
    out += again.execute(TEACHER, c.ShowBoard(DECK, 1, 20, "Fractions"), T0 + 50).records
    return out


def test_board_commands_cross_to_the_lessons_owner_intact() -> None:
    """Several processes: a command goes to the lesson's owner as JSON (lists, not tuples)."""
    lesson = shown()
    sent = c.AddStroke("k9", (1, 2, 3, 4), "green", 50, "eraser")
    arrived = c.command_from_dict(json.loads(json.dumps(c.command_to_dict(sent))))
    assert lesson.execute(TEACHER, arrived, T0 + 100).result == {"stroke_id": 1}
    assert snapshot(lesson, "s1")["board"]["strokes"][0]["points"] == [1, 2, 3, 4]
    record = lesson.execute(TEACHER, c.TurnPage(2), T0 + 200).records[0]
    data = json.loads(json.dumps(e.event_to_dict(record.event)))
    assert e.event_from_dict(data["type"], data["data"]) == record.event


def test_the_replay_redraws_the_board_at_any_time_as_it_was_live() -> None:
    """Turn, stroke, undo, clear: the board at t from the moments is the live board then."""
    lesson = shown()
    records = _log_of(lesson)
    live_at: dict[int, Any] = {T0 + 50: copy.deepcopy(lesson.board.view())}
    for n, command in enumerate([
        stroke("a", color="red"), stroke("b", points=(10, 10)), c.UndoStroke(), c.TurnPage(3),
        stroke("c"), c.TurnPage(1), c.ClearBoard(), stroke("d", color="blue"),
    ], 1):  # fmt: skip
        records += lesson.execute(TEACHER, command, T0 + 100 * n).records
        live_at[T0 + 100 * n] = copy.deepcopy(lesson.board.view())
    moments = board_moments(records)
    assert board_at(moments, T0 + 49) is None  # before the board was shown
    for t, view in live_at.items():
        at = board_at(moments, t + 1)  # just after a change: as it was live then
        assert at is not None and view is not None
        assert (at["board"], at["page"], at["strokes"]) == (view["board"], view["page"],
                                                           view["strokes"])  # fmt: skip
    assert [s["client_id"] for s in _strokes(moments, T0 + 150)] == ["a"]
    assert [s["client_id"] for s in _strokes(moments, T0 + 250)] == ["a", "b"]
    assert [s["client_id"] for s in _strokes(moments, T0 + 350)] == ["a"]  # b undone
    assert [s["client_id"] for s in _strokes(moments, T0 + 650)] == ["a"]  # page 1 again
    assert _strokes(moments, T0 + 750) == []  # cleared
    assert json.loads(json.dumps(moments)) == moments  # goes in the manifest as it is
    assert board_moments(_log_of(Lesson("L1", "C1", Rules()))[:4]) == []  # no board: nothing


def _strokes(moments: list[dict[str, Any]], t: int) -> list[dict[str, Any]]:
    board = board_at(moments, t)
    assert board is not None
    return list(board["strokes"])
