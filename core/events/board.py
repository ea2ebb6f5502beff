"""Board events: which deck page (or blank board) is shown, and the strokes drawn on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.events.base import Event, logged


@logged
@dataclass(frozen=True)
class BoardShown(Event):
    """A deck at `page` (`deck` None: blank board `page`), with what the deck store said."""

    deck: str | None
    page: int
    pages: int
    title: str = ""


@logged
@dataclass(frozen=True)
class PageTurned(Event):
    page: int


@logged
@dataclass(frozen=True)
class StrokeAdded(Event):
    """`points` is flat [x0, y0, x1, y1, ...] in 0..10000 page units on board `board`."""

    stroke_id: int
    client_id: str
    author_id: str
    board: str
    points: tuple[int, ...]
    color: str
    width: int
    tool: Literal["pen", "eraser"]


@logged
@dataclass(frozen=True)
class StrokeUndone(Event):
    board: str
    stroke_id: int


@logged
@dataclass(frozen=True)
class BoardCleared(Event):
    board: str


@logged
@dataclass(frozen=True)
class FloorDrawingSet(Event):
    allowed: bool
