"""The lesson-events bus: who hears of a lesson's events, once they are stored, in order.

Built first in the composition root and handed by constructor to whoever reacts to events
(the fan-out to sockets, the media glue, the namespace), so nothing is wired afterwards.
A listener is awaited before the next one hears the same batch, and a batch before the next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from core.events import Record
from core.lesson import Lesson

Listener = Callable[[Lesson, tuple[Record, ...]], Awaitable[None]]
NoticeListener = Callable[[str, str, dict[str, Any]], None]
TellListener = Callable[[str, str, str, dict[str, Any]], None]


class LessonBus:
    """Four kinds of news about a lesson, each to its listeners in the order they subscribed."""

    def __init__(self) -> None:
        self._stored: list[Listener] = []
        self._mirrored: list[Listener] = []
        self._notices: list[NoticeListener] = []
        self._tells: list[TellListener] = []

    def on_stored(self, listener: Listener) -> None:
        """Events this process decided and stored (it runs the lesson): send, follow, react."""
        self._stored.append(listener)

    def on_mirrored(self, listener: Listener) -> None:
        """Events another process stored, applied to this one's mirror: local follow-ups only."""
        self._mirrored.append(listener)

    def on_notice(self, listener: NoticeListener) -> None:
        """A word from the server itself, not an event of the log (media restarted)."""
        self._notices.append(listener)

    async def stored(self, lesson: Lesson, records: tuple[Record, ...]) -> None:
        for listener in self._stored:
            await listener(lesson, records)

    async def mirrored(self, lesson: Lesson, records: tuple[Record, ...]) -> None:
        for listener in self._mirrored:
            await listener(lesson, records)

    def notice(self, lesson_id: str, name: str, data: dict[str, Any]) -> None:
        for listener in self._notices:
            listener(lesson_id, name, data)

    def on_tell(self, listener: TellListener) -> None:
        """A word from the server to one participant (their link went down to sound only)."""
        self._tells.append(listener)

    def tell(self, lesson_id: str, participant_id: str, name: str, data: dict[str, Any]) -> None:
        for listener in self._tells:
            listener(lesson_id, participant_id, name, data)
