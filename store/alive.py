"""Alive marks: when a server last ran each live lesson, so that a restart's gap starts there.

The process running a live lesson refreshes its mark every few seconds; a process that later
rebuilds the lesson from its log records a server outage from the mark (or the last event,
if later) to now. A mark kept in Redis outlives the process that wrote it.
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

from store.errors import UNAVAILABLE

log = logging.getLogger(__name__)

KEEP_S = 7 * 86400  # a lesson not run for a week has long ended by itself (auto_end_*)


def alive_key(prefix: str, lesson_id: str) -> str:
    # The same hash tag as the log: a lesson's keys live in one Redis Cluster slot.
    return f"{prefix}:lesson:{{{lesson_id}}}:alive"


class AliveMarks:
    """One short-lived key per live lesson, holding the time of its last mark (ms)."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis, self.prefix = redis, prefix

    async def mark(self, lesson_ids: list[str], now_ms: int) -> None:
        """These lessons run here at `now_ms`; a mark that cannot be stored waits for the next."""
        if not lesson_ids:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for lesson_id in lesson_ids:
                pipe.set(alive_key(self.prefix, lesson_id), now_ms, ex=KEEP_S)
            await pipe.execute()
        except UNAVAILABLE as exc:
            log.warning("could not mark lessons alive: %s", exc)

    async def last(self, lesson_id: str) -> int | None:
        """The time of the lesson's last mark, or None (never marked, or too long ago)."""
        value = await self.redis.get(alive_key(self.prefix, lesson_id))
        return int(value) if value else None
