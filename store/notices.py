"""Notices every server process must act on at once: a revoked person, a forgotten lesson.

A person's sockets may be on any process of a cluster, and any process may hold a copy of a
lesson in memory. A notice is handled here at once and, when several processes share the
Redis, published on one pub/sub channel that every process listens to. Alone (one process,
or the in-memory store) there is no channel: `redis` is None.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from store.errors import UNAVAILABLE

log = logging.getLogger(__name__)

Revoke = Callable[[str, str], Awaitable[None]]
Forget = Callable[[str], Awaitable[None]]


async def _nothing(*args: Any) -> None:
    return None


class Notices:
    """Revocations and forgotten lessons, here and (clustered) in every other process."""

    def __init__(
        self,
        redis: aioredis.Redis | None,
        prefix: str,
        on_revoke: Revoke = _nothing,
        on_forget: Forget = _nothing,
    ) -> None:
        self.redis, self.channel = redis, f"{prefix}:notices"
        self.id = secrets.token_hex(6)
        self.on_revoke, self.on_forget = on_revoke, on_forget
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.redis is not None:
            self._task = asyncio.create_task(self._listen(), name="notices")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def revoke(self, person_id: str, reason: str) -> None:
        """Disconnect this person's live sockets: their link was revoked or deleted."""
        await self._send({"revoke": person_id, "reason": reason})

    async def forget(self, lesson_id: str) -> None:
        """Drop copies of this (not live) lesson from memory: its log was changed or deleted."""
        await self._send({"forget": lesson_id})

    async def _send(self, notice: dict[str, str]) -> None:
        await self._handle(notice)
        if self.redis is not None:
            await self.redis.publish(self.channel, json.dumps({**notice, "from": self.id}))

    async def _handle(self, notice: dict[str, str]) -> None:
        if "revoke" in notice:
            await self.on_revoke(notice["revoke"], notice.get("reason", "link-revoked"))
        elif "forget" in notice:
            await self.on_forget(notice["forget"])

    async def _listen(self) -> None:
        assert self.redis is not None
        while True:
            try:
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    await self._received(message)
            except UNAVAILABLE as exc:
                log.warning("notice channel unreachable: %s", exc)
                await asyncio.sleep(1)

    async def _received(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        try:
            notice = json.loads(message["data"])
            if notice.get("from") != self.id:
                await self._handle(notice)
        except Exception:
            log.exception("a notice could not be handled")
