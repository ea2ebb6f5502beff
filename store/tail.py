"""Following lesson logs that other server processes write (the mirrors of a cluster).

A blocking read on its own connection (the cluster's listener), so that waiting for new entries
never holds a connection of the shared pool.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from core.events import Record
from store.eventlog import decode_rows, lesson_key

READ_COUNT = 500
BLOCK_MS = 500


class LogTail:
    """New records of some lessons' logs, as they are written."""

    def __init__(self, listener: aioredis.Redis, redis: aioredis.Redis, prefix: str) -> None:
        self.listener, self.redis, self.prefix = listener, redis, prefix

    async def read(self, after: dict[str, int]) -> list[tuple[str, Record]]:
        """(lesson id, record) after each lesson's seq, in log order; waits a moment for them."""
        ids = {lesson_key(self.prefix, lesson_id): lesson_id for lesson_id in after}
        streams = {key: f"{after[lesson_id]}-1" for key, lesson_id in ids.items()}
        rows: Any = await self.listener.xread(streams, count=READ_COUNT, block=BLOCK_MS)  # type: ignore[arg-type]
        found = []
        for key, entries in rows or []:
            lesson_id = ids[key]
            for record in await decode_rows(self.redis, self.prefix, lesson_id, entries):
                found.append((lesson_id, record))
        return found

    async def close(self) -> None:
        await self.listener.aclose()
