"""A Python client of the lesson protocol, on socketio.AsyncClient; tests and bots use it."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from typing import Any

import socketio


class CallFailed(Exception):
    """The server refused an event: `code` is the stable error code."""

    def __init__(self, event: str, error: dict[str, str]) -> None:
        super().__init__(f"{event}: {error.get('code')}: {error.get('message')}")
        self.code = error.get("code", "")
        self.message = error.get("message", "")


class SabakClient:
    """One participant's connection: join, chat, hands, moderation; records what arrives."""

    EVENTS = (
        "participant",
        "count",
        "chat",
        "chat_deleted",
        "chat_locked",
        "guest_entry",
        "chat_muted",
        "hands",
        "hand",
        "removed",
        "admitted",
        "lesson_ended",
        "replaced",
        "revoked",
        "check_started",
        "check_closed",
        "check_tally",
        "learner_added",
        "poll_opened",
        "poll_closed",
        "poll_results",
        "poll_tally",
        "quiz_started",
        "quiz_closed",
        "quiz_published",
        "quiz_tally",
        "quiz_extended",
        "floor",
        "media_restart",
        "recording",
    )

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        guest_code: str | None = None,
        name: str | None = None,
        reconnection: bool = True,
    ) -> None:
        self.url = url
        self.auth: dict[str, Any] = (
            {"token": token} if token else {"guest_code": guest_code, "name": name}
        )
        self.link_auth = self.auth  # what to come back with once the resume token is refused
        self.sio = socketio.AsyncClient(
            reconnection=reconnection, reconnection_delay=0.2, reconnection_delay_max=2
        )
        self.inbox: dict[str, list[Any]] = defaultdict(list)
        self._arrived: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.lesson_id: str | None = None
        self.welcome: dict[str, Any] = {}
        self._rejoining: asyncio.Future[None] | None = None
        self._beating: asyncio.Task[None] | None = None
        self.joins = 0
        for name_ in self.EVENTS:
            self.sio.on(name_, self._recorder(name_))
        self.sio.on("connect", self._on_connect)

    def _recorder(self, name: str) -> Any:
        async def record(data: Any = None) -> None:
            self.inbox[name].append(data)
            self._arrived[name].set()

        return record

    async def _on_connect(self) -> None:
        if self.lesson_id is not None and self.welcome:  # a reconnect: join again
            self._rejoining = asyncio.ensure_future(self._rejoin())

    async def _rejoin(self) -> None:
        with contextlib.suppress(CallFailed, TimeoutError, socketio.exceptions.SocketIOError):
            try:
                await self.join(self.lesson_id)
            except CallFailed as failed:
                if failed.code != "token-expired" or self.auth is self.link_auth:
                    raise
                # Away longer than the grace: come in again with the link (a guest: anew).
                self.auth = self.link_auth
                await self.sio.disconnect()
                await self.connect()

    async def connect(self, transports: list[str] | None = None) -> None:
        await self.sio.connect(
            self.url,
            auth=lambda: self.auth,
            transports=transports or ["websocket"],
            wait_timeout=10,
        )

    async def close(self, goodbye: bool = True) -> None:
        """Leave (a goodbye, so no network gap is recorded) and disconnect."""
        self.stop_heartbeat()
        if goodbye and self.welcome and self.sio.connected:
            with contextlib.suppress(socketio.exceptions.SocketIOError):
                await self.sio.call("leave", timeout=2)
        await self.sio.disconnect()

    def stop_heartbeat(self) -> None:
        """Stop the heartbeats (a test uses it to play a connection that died silently)."""
        if self._beating is not None:
            self._beating.cancel()
            self._beating = None

    async def _beat_forever(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            if self.sio.connected:
                await self.sio.emit("beat")

    async def call(self, event: str, data: Any = None, timeout: float = 10) -> dict[str, Any]:
        """Emit an event, wait for its ack; raise CallFailed on a refusal."""
        ack = await self.sio.call(event, data, timeout=timeout)
        if not isinstance(ack, dict) or not ack.get("ok"):
            raise CallFailed(event, (ack or {}).get("error", {}))
        return ack

    async def join(self, lesson_id: str | None = None) -> dict[str, Any]:
        ack = await self.call("join", {"lesson_id": lesson_id} if lesson_id else {})
        self.lesson_id, self.welcome = lesson_id, ack
        if self._beating is None and ack.get("heartbeat_s"):
            self._beating = asyncio.create_task(self._beat_forever(float(ack["heartbeat_s"])))
        self.joins += 1
        self._arrived["_joined"].set()
        if ack.get("resume"):
            self.auth = {"token": ack["resume"]}  # come back as the same participant
        return ack

    async def chat(
        self, text: str, to: str = "all", client_id: str | None = None, reply_to: str = ""
    ) -> Any:
        """Send a chat message; a teacher's `reply_to` (a participant id) is private to them."""
        cid = client_id or uuid.uuid4().hex
        payload = {"client_id": cid, "text": text, "to": "participant" if reply_to else to}
        return await self.call("chat_send", payload | _only(participant_id=reply_to or None))

    async def raise_hand(self) -> Any:
        return await self.call("hand_raise")

    async def lower_hand(self, participant_id: str | None = None) -> Any:
        return await self.call("hand_lower", _only(participant_id=participant_id))

    async def visibility(self, visible: bool, listening: bool = False) -> Any:
        """The page in front or not; `listening`: hidden but playing the lesson's sound."""
        return await self.call("visibility", {"visible": visible, "listening": listening})

    async def answer_check(self, check_id: int, learner: str | None = None) -> Any:
        return await self.call("check_answer", _only(check_id=check_id, learner=learner))

    async def answer_floor(self, accept: bool, learner: str | None = None) -> Any:
        """Accept (or decline) the floor the teacher offered."""
        return await self.call("floor_answer", _only(accept=accept, learner=learner))

    async def add_learner(self, token: str) -> Any:
        """Put another learner (their personal link token) on this device."""
        return await self.call("learner_add", {"token": token})

    async def leave(self) -> Any:
        return await self.call("leave")

    async def rejoined(self, joins_before: int, timeout: float = 15) -> dict[str, Any]:
        """Wait until the client has joined again after a reconnect; the new welcome."""
        async with asyncio.timeout(timeout):
            while self.joins <= joins_before:
                self._arrived["_joined"].clear()
                await self._arrived["_joined"].wait()
        return self.welcome

    async def next(self, event: str, timeout: float = 5) -> Any:
        """Wait for the next message of `event` not yet taken by `next`."""
        while not self.inbox[event]:
            self._arrived[event].clear()
            await asyncio.wait_for(self._arrived[event].wait(), timeout)
        return self.inbox[event].pop(0)

    async def wait_for(self, event: str, predicate: Any, timeout: float = 5) -> Any:
        """Wait for a message of `event` for which predicate(payload) is true."""
        async with asyncio.timeout(timeout):
            while True:
                data = await self.next(event, timeout)
                if predicate(data):
                    return data


def _only(**kwargs: Any) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v is not None}
