"""Delivery of stored events to sockets: rooms per lesson, role and participant."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

import socketio

from core import events as e
from core.lesson import Actor, Lesson
from core.outgoing import ALL, TEACHERS, Outgoing
from core.views import outgoing
from lessons.bus import LessonBus

# Messages that only say "the latest number is": during a join storm or a burst of check
# answers, send the latest one at most this often instead of one per event.
COALESCE_S = {"count": 1.0, "check_tally": 0.5, "poll_tally": 0.5, "quiz_tally": 0.5}
DISCONNECT_DELAY_S = 0.25
# The laser pointer: the newest position of a lesson, at most this often (signaling/board.py).
POINTER_S = 0.1


def room(lesson_id: str, audience: str) -> str:
    if audience in (ALL, TEACHERS):
        return f"{lesson_id}/{audience}"
    return f"{lesson_id}/p/{audience}"


class Fanout:
    """Sends each stored event to the rooms that may see it, and keeps rooms up to date."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        bus: LessonBus,
        ice_for: Callable[[str], list[dict[str, Any]]],
    ) -> None:
        self.sio = sio
        # An admitted guest's STUN/TURN servers, made for them (none while they waited).
        self.ice_for = ice_for
        self._sockets: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._due: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._latest: dict[tuple[str, str], Outgoing] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._pointer: dict[str, dict[str, Any]] = {}  # lesson -> the newest, not yet sent
        self._pointer_due: dict[str, asyncio.TimerHandle] = {}
        self._pointer_sent: dict[str, float] = {}  # lesson -> when one last went out
        bus.on_stored(self)
        bus.on_mirrored(self.follow_up)
        bus.on_notice(self.tell_everyone)
        bus.on_tell(self.tell_one)

    def connections(self, lesson_id: str, pid: str) -> list[str]:
        return sorted(self._sockets.get((lesson_id, pid), ()))

    def forget(self, lesson_id: str, pid: str, sid: str) -> bool:
        """Drop a socket of a participant; True if the participant has others left."""
        sockets = self._sockets.get((lesson_id, pid))
        if sockets is None:
            return False
        sockets.discard(sid)
        if not sockets:
            del self._sockets[(lesson_id, pid)]
        return bool(sockets)

    async def enter_own_room(self, sid: str, lesson_id: str, pid: str) -> None:
        await self.sio.enter_room(sid, room(lesson_id, pid))

    async def attach(self, sid: str, lesson: Lesson, actor: Actor) -> None:
        pid = actor.participant_id
        self._sockets[(lesson.id, pid)].add(sid)
        await self.sio.enter_room(sid, room(lesson.id, pid))
        if lesson.participants[pid].presence == "present":
            await self._admit(sid, lesson, pid)

    async def _admit(self, sid: str, lesson: Lesson, pid: str) -> None:
        await self.sio.enter_room(sid, room(lesson.id, ALL))
        if lesson.participants[pid].role == "teacher":
            await self.sio.enter_room(sid, room(lesson.id, TEACHERS))

    async def detach_participant(self, sid: str, lesson_id: str, pid: str) -> None:
        await self.sio.leave_room(sid, room(lesson_id, pid))

    async def detach(self, sid: str, lesson_id: str) -> None:
        for r in self.sio.rooms(sid):
            if r.startswith(f"{lesson_id}/"):
                await self.sio.leave_room(sid, r)

    async def __call__(self, lesson: Lesson, records: tuple[e.Record, ...]) -> None:
        for record in records:
            for message in outgoing(lesson, record):
                await self._send(lesson.id, message)
            await self._follow_up(lesson, record.event)

    async def follow_up(self, lesson: Lesson, records: tuple[e.Record, ...]) -> None:
        """A mirrored lesson: only our own sockets' rooms change; its owner sends messages."""
        for record in records:
            await self._follow_up(lesson, record.event)

    def tell_everyone(self, lesson_id: str, name: str, data: dict[str, Any]) -> None:
        """A notice from the server itself (not a stored event) to the whole lesson."""
        self._spawn(self.sio.emit(name, data, room=room(lesson_id, ALL)))

    def point(self, lesson_id: str, where: dict[str, Any]) -> None:
        """The pointer moved: the newest position goes out at most every POINTER_S."""
        self._pointer[lesson_id] = where
        if lesson_id in self._pointer_due:
            return  # one is due: it will carry this newer position
        loop = asyncio.get_running_loop()
        wait = max(0.0, self._pointer_sent.get(lesson_id, 0.0) + POINTER_S - loop.time())
        send = lambda: self._spawn(self._send_pointer(lesson_id))  # noqa: E731
        self._pointer_due[lesson_id] = loop.call_later(wait, send)

    async def _send_pointer(self, lesson_id: str) -> None:
        self._pointer_due.pop(lesson_id, None)
        where = self._pointer.pop(lesson_id, None)
        if where is not None:
            self._pointer_sent[lesson_id] = asyncio.get_running_loop().time()
            await self.sio.emit("pointer", where, room=room(lesson_id, ALL))

    def tell_one(self, lesson_id: str, pid: str, name: str, data: dict[str, Any]) -> None:
        """A notice from the server itself to one participant's sockets."""
        self._spawn(self.sio.emit(name, data, room=room(lesson_id, pid)))

    async def _send(self, lesson_id: str, message: Outgoing) -> None:
        delay = COALESCE_S.get(message.name)
        if delay is None:
            body = message.body()
            if message.name == "admitted":
                body = {**body, "ice_servers": self.ice_for(message.audience)}
            await self.sio.emit(message.name, body, room=room(lesson_id, message.audience))
            return
        key = (lesson_id, message.name)
        self._latest[key] = message
        if key not in self._due:
            loop = asyncio.get_running_loop()
            # The coroutine is made when the timer fires: one made now and never run (the
            # loop closed first) would be "never awaited".
            self._due[key] = loop.call_later(delay, lambda: self._spawn(self._flush(key)))

    async def _flush(self, key: tuple[str, str]) -> None:
        self._due.pop(key, None)
        message = self._latest.pop(key, None)
        if message is not None:
            await self.sio.emit(message.name, message.body(), room=room(key[0], message.audience))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _follow_up(self, lesson: Lesson, event: e.Event) -> None:
        """Room changes that follow from an event: admitted guests in, removed people out."""
        if isinstance(event, e.GuestAdmitted):
            for sid in self.connections(lesson.id, event.participant_id):
                await self._admit(sid, lesson, event.participant_id)
        elif isinstance(event, e.ParticipantLeft) and event.reason in ("removed", "denied"):
            await self._disconnect(self.connections(lesson.id, event.participant_id))
        elif isinstance(event, e.LessonEnded):
            self._pointer_sent.pop(lesson.id, None)
            everyone = [
                s for (lid, _), sids in self._sockets.items() if lid == lesson.id for s in sids
            ]
            await self._disconnect(everyone)

    async def disconnect_soon(self, sids: list[str]) -> None:
        """Disconnect these sockets once what is queued for them has gone out."""
        await self._disconnect(sids)

    async def _disconnect(self, sids: list[str]) -> None:
        """Disconnect a moment later, so that the reason and the pending acks go out first."""

        async def later() -> None:
            await asyncio.sleep(DISCONNECT_DELAY_S)
            for sid in sids:
                await self.sio.disconnect(sid)

        self._spawn(later())
