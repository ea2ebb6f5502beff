"""Which store the server keeps its data in, chosen in one place: Redis, or memory.

`[redis] url = "memory://"` chooses the in-memory store (store/memory.py): for tests and
one-process trials, nothing survives a restart, and a cluster is refused (config/settings.py).
Any other url, or none (the embedded Redis), chooses Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from config import Settings
from store.audit import Audit, RedisAuditRows
from store.directory import RedisDirectory
from store.eventlog import EventLog
from store.memory import MemoryAuditRows, MemoryDirectory, MemoryLog
from store.protocols import Directory, LessonLog
from store.replication import Replication


@dataclass(frozen=True)
class Stores:
    """The store's parts that the lesson service, the sockets and REST use."""

    directory: Directory
    eventlog: LessonLog
    audit: Audit
    # Where notices go to the other processes (server/app.py builds Notices with the
    # handlers, which need the lessons and the sockets): None when one process is all.
    notice_channel: aioredis.Redis | None


def make_stores(settings: Settings, redis: aioredis.Redis | None) -> Stores:
    """The Redis store on `redis`, or the in-memory store when there is no Redis (None)."""
    prefix, outbox = settings.redis.key_prefix, settings.redis.outbox_max_events
    if redis is None:
        memory = MemoryLog(outbox)
        return Stores(MemoryDirectory(), memory, Audit(MemoryAuditRows()), None)
    return Stores(
        RedisDirectory(redis, prefix),
        EventLog(
            redis,
            prefix,
            outbox,
            replication=Replication(
                redis, settings.redis.wait_replicas, settings.redis.wait_timeout_ms
            ),
        ),
        Audit(RedisAuditRows(redis, prefix)),
        # One process alone needs no channel: every socket and every copy of a lesson is here.
        redis if settings.server.cluster else None,
    )
