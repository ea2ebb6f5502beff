"""Acknowledged means replicated: WAIT for replicas after the writes an acknowledgement needs.

Redis replicates asynchronously: an event on the primary alone is lost if the primary dies
before its replica copies it, and Sentinel then promotes the replica without it. So the log
asks `WAIT <replicas> <timeout>` after each batch; fewer replicas than asked within the
timeout raise NotReplicated (a RedisError: the batch stays in the outbox and is retried, its
stream ids make the retry store nothing twice).
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from store.redis_connect import replicas

AUTO = -1  # [redis] wait_replicas: one replica when the primary has any, none otherwise
RECOUNT_S = 5.0  # how old the count of the primary's replicas may be (auto)


class NotReplicated(RedisError):
    """WAIT saw fewer replicas take the writes than asked: not acknowledged, held and retried."""


class Replication:
    """How many replicas must have a write, and the WAIT that checks it."""

    def __init__(self, redis: aioredis.Redis, wanted: int, timeout_ms: int) -> None:
        self.redis, self.wanted, self.timeout_ms = redis, wanted, timeout_ms
        self._counted_at = -RECOUNT_S
        self._auto = 0

    async def needed(self) -> int:
        """The replicas to wait for now: the setting, or (auto) one if the primary has any.

        Counted again every few seconds and after a failed WAIT: after a failover the new
        primary may have no replica left, and the lesson goes on on the primary alone.
        """
        if self.wanted != AUTO:
            return self.wanted
        if time.monotonic() - self._counted_at >= RECOUNT_S:
            self._auto = min(1, await replicas(self.redis))
            self._counted_at = time.monotonic()
        return self._auto

    def ask(self, pipe: Pipeline, mark_key: str, needed: int) -> None:
        """End a pipeline of writes with a WAIT for `needed` replicas (read by `check`).

        WAIT waits for the connection's own last write; the mark written just before it makes
        that write this batch's last, also when every XADD of a retry was refused as already
        stored (the earlier try may have reached the primary alone). The replication stream
        is one, in order: a replica with the mark has every earlier write too.
        """
        pipe.incr(mark_key)
        pipe.execute_command("WAIT", needed, self.timeout_ms)

    def check(self, got: object, needed: int) -> None:
        """Raise NotReplicated if WAIT's reply (`got`) says fewer replicas than `needed`."""
        if isinstance(got, Exception):
            raise got
        if int(str(got)) < needed:
            self._counted_at = -RECOUNT_S  # count again: the replica may be gone for good
            raise NotReplicated(f"{got} of {needed} replicas took the writes in time")
