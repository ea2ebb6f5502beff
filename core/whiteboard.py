"""The board a lesson shows: a deck page or a blank board, and the strokes drawn on each.

Coordinates are whole numbers in a 0..10000 page space (the page's width and height each
map to 0..10000), so a stroke is the same on a 360 px phone and a laptop. An eraser is a
stroke that erases (drawn with "destination-out" on the pages): undo and replay treat it
like any other stroke, and nothing has to find which strokes it touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from core import events as e

SPACE = 10_000  # page coordinates run 0..SPACE on both axes
PALETTE = ("black", "red", "blue", "green", "orange", "purple")
TOOLS = ("pen", "eraser")
MIN_WIDTH, MAX_WIDTH = 5, 400  # in page units: a hairline to a wide eraser


def board_key(deck: str | None, page: int) -> str:
    """The board a stroke belongs to: `<deck>:<page>`, or `blank:<page>`."""
    return f"{deck or 'blank'}:{page}"


@dataclass(frozen=True)
class Stroke:
    id: int
    client_id: str
    author_id: str
    points: tuple[int, ...]
    color: str
    width: int
    tool: Literal["pen", "eraser"]

    def view(self) -> dict[str, Any]:
        return {"id": self.id, "client_id": self.client_id, "author_id": self.author_id,
                "points": list(self.points), "color": self.color, "width": self.width,
                "tool": self.tool}  # fmt: skip


@dataclass
class Board:
    """What is shown now (page 0: nothing yet) and every board's strokes after undo/clear."""

    deck: str | None = None
    page: int = 0
    pages: int = 0
    title: str = ""
    floor_draw: bool = False  # may the students holding the floor draw?
    strokes: dict[str, list[Stroke]] = field(default_factory=dict)
    stroke_count: int = 0  # strokes ever added: the next one's id is one more
    by_client: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return board_key(self.deck, self.page)

    @property
    def shown(self) -> bool:
        return self.page > 0

    def current(self) -> list[Stroke]:
        return self.strokes.setdefault(self.key, [])

    def view(self) -> dict[str, Any] | None:
        """The board as a page draws it: None until the teacher shows one."""
        if not self.shown:
            return None
        return {"deck": self.deck, "page": self.page, "pages": self.pages, "title": self.title,
                "board": self.key, "floor_draw": self.floor_draw,
                "strokes": [s.view() for s in self.strokes.get(self.key, [])]}  # fmt: skip


def decks_used(records: Iterable[e.Record]) -> list[dict[str, Any]]:
    """For the lesson report: each deck shown, in order of first showing, and its pages shown."""
    decks: dict[str, dict[str, Any]] = {}
    current: str | None = None
    for record in records:
        ev = record.event
        if isinstance(ev, e.BoardShown):
            current = ev.deck
            if ev.deck is not None:
                decks.setdefault(ev.deck, {"deck": ev.deck, "title": ev.title,
                                           "pages": ev.pages, "shown": set()})  # fmt: skip
        if isinstance(ev, e.BoardShown | e.PageTurned) and current is not None:
            decks[current]["shown"].add(ev.page)
    return [{**d, "shown": sorted(d["shown"])} for d in decks.values()]
