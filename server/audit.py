"""The audit trail: refused attempts that matter for security, kept in a capped Redis stream."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Refusals worth an audit entry: someone tried what they have no right to.
AUDITED = frozenset({
    "forbidden", "wrong-lesson", "removed", "bad-token", "token-expired", "link-revoked",
    "unknown-learner", "not-a-student", "too-many-attempts", "unknown-code",
    "too-many-guests",
})  # fmt: skip
MAX_ENTRIES = 100_000
MAX_PENDING = 10_000


class Audit:
    """Queues entries and writes them in the background: auditing never blocks a refusal."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis, self.key = redis, f"{prefix}:audit"
        self._pending: deque[dict[str, str]] = deque(maxlen=MAX_PENDING)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.sleep(0)  # let a last entry in
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            await self._flush()

    def record(self, code: str, **detail: Any) -> None:
        if code not in AUDITED:
            return
        entry = {"ts": str(int(time.time() * 1000)), "code": code}
        entry.update({k: json.dumps(v) if not isinstance(v, str) else v[:200]
                      for k, v in detail.items() if v is not None})  # fmt: skip
        self._pending.append(entry)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        while self._pending:
            entry = self._pending[0]
            try:
                await self.redis.xadd(self.key, entry, maxlen=MAX_ENTRIES, approximate=True)  # type: ignore[arg-type]
            except (RedisError, OSError) as exc:
                log.warning("audit entry not stored yet: %s", exc)
                await asyncio.sleep(1)
                return
            self._pending.popleft()

    async def entries(self, count: int = 100) -> list[dict[str, Any]]:
        """The newest entries first."""
        rows: Any = await self.redis.xrevrange(self.key, count=count)
        return [dict(fields) for _, fields in rows]
