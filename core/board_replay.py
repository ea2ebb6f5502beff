"""The board over a recorded lesson: what the replay page needs to redraw it at any time.

Pure. The lesson's log is folded by the live lesson's own folds (core.lesson.Lesson) and each
board event is turned into the very message the live pages got (core.board_views), stamped
with its lesson-clock time, so replay and live cannot disagree: a `board` moment (shown, page
turned, cleared) carries the page and its strokes then; `stroke` adds one; `stroke_undone`
takes one back. The board at time t is the last `board` moment at or before t with the
stroke moments after it applied in order.
"""

from __future__ import annotations

from typing import Any

from core import events as e
from core.board_views import FANOUT
from core.lesson import Lesson
from core.rules import Rules

BOARD_EVENTS = (e.BoardShown, e.PageTurned, e.StrokeAdded, e.StrokeUndone, e.BoardCleared)


def board_moments(records: list[e.Record]) -> list[dict[str, Any]]:
    """The board's moments of a lesson, oldest first; empty when it never showed a board."""
    lesson = Lesson("replay", "", Rules())  # only the board's part of it is read
    out: list[dict[str, Any]] = []
    for r in records:
        lesson.apply(r)
        if isinstance(r.event, BOARD_EVENTS):
            for message in FANOUT[type(r.event)](lesson, r):
                out.append({"t": r.ts_ms, "type": message.name, **message.body()})
    return out


def board_at(moments: list[dict[str, Any]], t_ms: int) -> dict[str, Any] | None:
    """The board as shown at `t_ms` (what the replay page draws), None before any was shown."""
    board: dict[str, Any] | None = None
    for m in moments:
        if m["t"] > t_ms:
            break
        if m["type"] == "board":
            board = {**m, "strokes": list(m["strokes"])}
        elif board is None or m["board"] != board["board"]:
            continue
        elif m["type"] == "stroke":
            board["strokes"].append({k: v for k, v in m.items() if k not in ("t", "type", "board")})
        elif m["type"] == "stroke_undone":
            board["strokes"] = [s for s in board["strokes"] if s["id"] != m["stroke_id"]]
    return board
