"""Connecting to the configured Redis: one server by URL, or the primary that Sentinels name.

`redis+sentinel://[user:password@]host:port,host:port/db/service` is the form python-socketio's
AsyncRedisManager takes too (socketio/redis_manager.py parse_redis_sentinel_url), so the
socket.io manager and every store connection follow the same failover. A Sentinel client asks
the Sentinels for the primary before each new connection and drops its connections when the
primary changes; a command that fails meanwhile raises a RedisError (store/errors.py
UNAVAILABLE): the log's outbox holds the events and retries them in order.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.connection import BlockingConnectionPool
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

SENTINEL_SCHEME = "redis+sentinel://"
SENTINEL_TIMEOUT_S = 2.0


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """A Sentinel pool that waits for a free connection when full, as the plain pool does."""


def sentinel_parts(url: str) -> tuple[list[tuple[str, int]], str, dict[str, Any]]:
    """The Sentinels' addresses, the service name and the connection options of a Sentinel URL."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2]
    sentinels = []
    for host_port in hosts.split(","):
        host, _, port = host_port.rpartition(":")
        sentinels.append((host.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if len(path) != 2:
        raise ValueError("a Sentinel URL ends with /<db>/<service>, e.g. /0/sabak")
    options: dict[str, Any] = {"db": int(path[0])}
    if parts.username:
        options["username"] = parts.username
    if parts.password:
        options["password"] = parts.password
    return sentinels, path[1], options


def connect(url: str, **options: Any) -> aioredis.Redis:
    """A client of the Redis at `url` (of its current primary, for a Sentinel URL).

    `max_connections` with `timeout` makes the pool wait for a free connection when full.
    """
    blocking = "max_connections" in options
    if not url.startswith(SENTINEL_SCHEME):
        if blocking:
            return aioredis.Redis(connection_pool=BlockingConnectionPool.from_url(url, **options))
        return aioredis.Redis.from_url(url, **options)
    sentinels, service, auth = sentinel_parts(url)
    # A Sentinel answers at once or is gone: ask the next one soon rather than wait.
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        sentinels, socket_timeout=SENTINEL_TIMEOUT_S, socket_connect_timeout=SENTINEL_TIMEOUT_S
    )
    pool_class = _BlockingSentinelPool if blocking else SentinelConnectionPool
    client: aioredis.Redis = sentinel.master_for(
        service, connection_pool_class=pool_class, **auth, **options
    )
    return client


async def replicas(client: aioredis.Redis) -> int:
    """How many replicas are connected to the primary now (INFO replication connected_slaves)."""
    info: dict[str, Any] = await client.info("replication")
    return int(info.get("connected_slaves", 0))
