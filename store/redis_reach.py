"""Reaching a Redis: a client that fails fast, PING checks, and URLs with the password hidden."""

import asyncio
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from store.redis_connect import connect

PROBE_TIMEOUT_S = 1.0


class RedisLaunchError(RuntimeError):
    """Redis could not be found, started or reached; the message is one sentence for people."""


def _client(url: str, timeout_s: float) -> aioredis.Redis:
    # No retries: callers poll or fail fast themselves, and retries only delay the answer.
    return connect(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user.partition(':')[0]}:***@{host}"))


async def ensure_redis(url: str, timeout_s: float) -> None:
    """Check that an external Redis answers PING, or raise RedisLaunchError saying why."""
    try:
        client = _client(url, timeout_s)
    except ValueError as exc:
        raise RedisLaunchError(f"cannot reach Redis at {_redact(url)}: {exc}") from exc
    try:
        async with asyncio.timeout(timeout_s):
            await client.ping()
    except (RedisError, OSError, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        raise RedisLaunchError(f"cannot reach Redis at {_redact(url)}: {reason}") from exc
    finally:
        await client.aclose()


async def serving_as(url: str, pid: int) -> bool:
    """Whether the Redis at url answers PING and is the process pid, not some other server."""
    client = _client(url, PROBE_TIMEOUT_S)
    try:
        await client.ping()  # refused with LOADING until the AOF is replayed
        info = await client.info("server")
        return bool(info.get("process_id") == pid)
    except (RedisError, OSError, TimeoutError):
        return False
    finally:
        await client.aclose()
