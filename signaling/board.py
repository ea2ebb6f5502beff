"""The board's events that are not plain commands: showing a deck, checked against the deck
store (its page count and title come from there, never from the payload), and the laser
pointer, which is sent on at most ten times a second and never stored.

Why the pointer is not in the log: it moves tens of times a second while the teacher points
and means nothing a moment later. Storing it would fill the log (and every replay) with
noise and spend the teacher's event budget; sending every move would cost a phone on a
weak link more than the strokes. So the fan-out keeps only the newest position per lesson
and sends it at most every 100 ms (`signaling/fanout.py`); a late joiner sees it at the
teacher's next move.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from core import commands as c
from core.errors import Refused
from core.lesson import Actor
from lessons.host import LessonHost
from signaling.fanout import Fanout
from store.decks import DeckStore

# What the deck store knows of a deck: its page count and its title (None: no such deck).
DeckLookup = Callable[[str], Awaitable[tuple[int, str] | None]]


def deck_lookup(store: DeckStore) -> DeckLookup:
    """The deck store's answer, as the board needs it: (pages, title), or None."""

    async def lookup(deck: str) -> tuple[int, str] | None:
        info = await store.info(deck)
        return (info.pages, info.title) if info is not None else None

    return lookup


class BoardEvents:
    """`board_show` and `board_pointer`, for the namespace."""

    def __init__(self, live: LessonHost, fanout: Fanout, decks: DeckLookup | None) -> None:
        self.live, self.fanout, self.decks = live, fanout, decks

    async def show(self, lesson_id: str, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
        deck, page = data.get("deck"), data.get("page", 1)
        pages, title = 0, ""
        if deck is not None:
            found = await self.decks(deck) if self.decks is not None else None
            if found is None:
                raise Refused("unknown-deck", "There is no such deck; upload it first.")
            pages, title = found
        outcome = await self.live.run(lesson_id, actor, c.ShowBoard(deck, page, pages, title))
        return outcome.result

    async def point(self, lesson_id: str, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
        lesson = await self.live.get(lesson_id)
        if not lesson.board.shown:
            raise Refused("no-board", "The teacher has not shown a board yet.")
        if not lesson.may_draw(actor.participant_id):
            raise Refused("drawing-not-allowed", "The teacher has not let you point.")
        where = {"board": lesson.board.key, "x": data.get("x"), "y": data.get("y")}
        self.fanout.point(lesson_id, where)
        return {}
