"""What the board's events send to the pages: the whole board on a show, turn or clear (the
new page's strokes come with it), one stroke as it is added, one stroke taken back."""

from __future__ import annotations

from collections.abc import Callable

from core import events as e
from core.lesson import Lesson
from core.outgoing import ALL, Outgoing


def _board(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    return [Outgoing(ALL, "board", lesson.board.view() or {})]


def _stroke(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    ev = record.event
    assert isinstance(ev, e.StrokeAdded)
    stroke = lesson.board.strokes[ev.board][-1]
    return [Outgoing(ALL, "stroke", {"board": ev.board, **stroke.view()})]


def _undone(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    ev = record.event
    assert isinstance(ev, e.StrokeUndone)
    return [Outgoing(ALL, "stroke_undone", {"board": ev.board, "stroke_id": ev.stroke_id})]


def _drawing(lesson: Lesson, record: e.Record) -> list[Outgoing]:
    return [Outgoing(ALL, "board_draw", {"allowed": lesson.board.floor_draw})]


FANOUT: dict[type[e.Event], Callable[[Lesson, e.Record], list[Outgoing]]] = {
    e.BoardShown: _board,
    e.PageTurned: _board,
    e.BoardCleared: _board,
    e.StrokeAdded: _stroke,
    e.StrokeUndone: _undone,
    e.FloorDrawingSet: _drawing,
}

__all__ = ["FANOUT"]
