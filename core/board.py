"""The board: the teacher shows a deck page or a blank board and turns pages; the teacher
(and a student holding the floor, when the teacher allows) draws strokes, undoes them and
clears the board. Strokes are bounded in size, number and rate, like chat messages."""

from __future__ import annotations

from core import commands as c
from core import events as e
from core.errors import Refused
from core.rules import note_time, rate_limited, sliding_window_full
from core.state import (
    Actor,
    LessonState,
    Participant,
    require_live,
    require_present,
    require_teacher,
)
from core.tables import Decision, decider, feature, fold
from core.whiteboard import MAX_WIDTH, MIN_WIDTH, PALETTE, SPACE, TOOLS, Board, Stroke, board_key


def may_draw(state: LessonState, pid: str) -> bool:
    """The teacher always; a student only while holding the floor and the teacher allows it."""
    p = state.participants.get(pid)
    if p is None or p.presence != "present":
        return False
    return p.role == "teacher" or (pid in state.floor and state.board.floor_draw)


def show_board(state: LessonState, actor: Actor, cmd: c.ShowBoard, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    pages = cmd.pages if cmd.deck is not None else state.rules.board_blank_pages
    if pages < 1:
        raise Refused("unknown-deck", "There is no such deck.")
    _check_page(cmd.page, pages)
    board = state.board
    if (board.deck, board.page) == (cmd.deck, cmd.page):
        return Decision()
    return Decision([e.BoardShown(cmd.deck, cmd.page, pages, cmd.title)])


def turn_page(state: LessonState, actor: Actor, cmd: c.TurnPage, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    board = _shown(state)
    _check_page(cmd.page, board.pages)
    return Decision() if cmd.page == board.page else Decision([e.PageTurned(cmd.page)])


def add_stroke(state: LessonState, actor: Actor, cmd: c.AddStroke, now: int) -> Decision:
    p = _drawer(state, actor)
    board = state.board
    earlier = board.by_client.get((p.id, cmd.client_id))
    if earlier is not None:
        return Decision((), {"stroke_id": earlier, "duplicate": True})
    points = tuple(cmd.points)
    _check_stroke(state, cmd, points)
    if len(board.current()) >= state.rules.board_max_strokes:
        raise Refused("board-full", "This board has as many strokes as it can; clear it first.")
    rules = state.rules
    allowance = rules.board_stroke_rate * (10 if p.role == "teacher" else 1)
    if sliding_window_full(p.times("stroke"), now, allowance, rules.board_stroke_window_ms):
        raise rate_limited("You are drawing too fast; wait a moment.")
    stroke_id = board.stroke_count + 1
    event = e.StrokeAdded(stroke_id, cmd.client_id, p.id, board.key, points, cmd.color,
                          cmd.width, cmd.tool)  # fmt: skip
    return Decision([event], {"stroke_id": stroke_id})


def undo_stroke(state: LessonState, actor: Actor, cmd: c.UndoStroke, now: int) -> Decision:
    p = _drawer(state, actor)
    mine = [s for s in state.board.current() if s.author_id == p.id]
    if not mine:
        raise Refused("nothing-to-undo", "You have no stroke on this board to undo.")
    return Decision([e.StrokeUndone(state.board.key, mine[-1].id)], {"stroke_id": mine[-1].id})


def clear_board(state: LessonState, actor: Actor, cmd: c.ClearBoard, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    board = _shown(state)
    return Decision([e.BoardCleared(board.key)]) if board.current() else Decision()


def allow_floor_drawing(
    state: LessonState, actor: Actor, cmd: c.AllowFloorDrawing, now: int
) -> Decision:
    require_teacher(actor)
    require_live(state)
    if state.board.floor_draw == cmd.allowed:
        return Decision()
    return Decision([e.FloorDrawingSet(cmd.allowed)])


def _shown(state: LessonState) -> Board:
    if not state.board.shown:
        raise Refused("no-board", "The teacher has not shown a board yet.")
    return state.board


def _check_page(page: int, pages: int) -> None:
    if not 1 <= page <= pages:
        raise Refused("no-such-page", f"Pages run from 1 to {pages}.")


def _drawer(state: LessonState, actor: Actor) -> Participant:
    p = require_present(state, actor)
    _shown(state)
    if not may_draw(state, p.id):
        raise Refused("drawing-not-allowed", "The teacher has not let you draw.")
    return p


def _check_stroke(state: LessonState, cmd: c.AddStroke, points: tuple[int, ...]) -> None:
    most = state.rules.board_max_points
    if not points or len(points) % 2 or len(points) > 2 * most:
        raise Refused("bad-stroke", f"A stroke has from 1 to {most} points, each an x and a y.")
    if any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= SPACE for v in points):
        raise Refused("bad-stroke", f"Stroke points are whole numbers from 0 to {SPACE}.")
    if cmd.color not in PALETTE or cmd.tool not in TOOLS:
        raise Refused("bad-stroke", "Choose a colour of the palette and a pen or an eraser.")
    if not MIN_WIDTH <= cmd.width <= MAX_WIDTH:
        raise Refused("bad-stroke", f"A stroke is {MIN_WIDTH} to {MAX_WIDTH} units wide.")


# -- folds ------------------------------------------------------------------------------------


def board_shown(state: LessonState, ev: e.BoardShown, ts: int) -> None:
    board = state.board
    board.deck, board.page, board.pages, board.title = ev.deck, ev.page, ev.pages, ev.title


def page_turned(state: LessonState, ev: e.PageTurned, ts: int) -> None:
    state.board.page = ev.page


def stroke_added(state: LessonState, ev: e.StrokeAdded, ts: int) -> None:
    board = state.board
    stroke = Stroke(ev.stroke_id, ev.client_id, ev.author_id, tuple(ev.points), ev.color,
                    ev.width, ev.tool)  # fmt: skip
    board.strokes.setdefault(ev.board, []).append(stroke)
    board.stroke_count = ev.stroke_id
    board.by_client[(ev.author_id, ev.client_id)] = ev.stroke_id
    author = state.participants.get(ev.author_id)
    if author is not None:
        note_time(author.times("stroke"), ts, state.rules.board_stroke_rate * 10)


def stroke_undone(state: LessonState, ev: e.StrokeUndone, ts: int) -> None:
    strokes = state.board.strokes.get(ev.board, [])
    strokes[:] = [s for s in strokes if s.id != ev.stroke_id]


def board_cleared(state: LessonState, ev: e.BoardCleared, ts: int) -> None:
    state.board.strokes[ev.board] = []


def floor_drawing_set(state: LessonState, ev: e.FloorDrawingSet, ts: int) -> None:
    state.board.floor_draw = ev.allowed


FEATURE = feature(
    "board",
    deciders=[
        decider(c.ShowBoard, show_board),
        decider(c.TurnPage, turn_page),
        decider(c.AddStroke, add_stroke),
        decider(c.UndoStroke, undo_stroke),
        decider(c.ClearBoard, clear_board),
        decider(c.AllowFloorDrawing, allow_floor_drawing),
    ],
    folds=[
        fold(e.BoardShown, board_shown),
        fold(e.PageTurned, page_turned),
        fold(e.StrokeAdded, stroke_added),
        fold(e.StrokeUndone, stroke_undone),
        fold(e.BoardCleared, board_cleared),
        fold(e.FloorDrawingSet, floor_drawing_set),
    ],
)

__all__ = ["FEATURE", "board_key", "may_draw"]
