"""A real embedded Redis for tests, started in a temporary directory and always stopped."""

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import redis.asyncio as aioredis

from store.redis_launcher import EmbeddedRedis

T = TypeVar("T")
DATABASES = 16  # Redis's default `databases`


@asynccontextmanager
async def running_redis(
    tmp_path: Path, appendfsync: str = "everysec"
) -> AsyncIterator[tuple[EmbeddedRedis, str]]:
    """Yield a started EmbeddedRedis keeping its data in tmp_path, and its URL."""
    embedded = EmbeddedRedis(tmp_path / "data", appendfsync=appendfsync)
    url = await embedded.start()
    try:
        yield embedded, url
    finally:
        await embedded.stop()


class SharedRedis:
    """One EmbeddedRedis for a whole test session, lent to one test at a time as an empty database.

    Starting and stopping a redis-server per test cost ~0.12 s each across hundreds of tests.
    The process runs on its own event loop in a thread, because each test has its own loop.
    Tests take its logical databases in turn, so a straggling writer of the previous test
    (if any) lands in another database than the next test's; each is emptied before lending.
    """

    def __init__(self, data_dir: Path) -> None:
        self._loop = asyncio.new_event_loop()
        # A daemon, so that a session that dies before close() cannot hang Python's exit.
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="shared-redis", daemon=True
        )
        self._thread.start()
        self._embedded = EmbeddedRedis(data_dir)
        self._base = self._run(self._embedded.start()).removesuffix("/0")
        self._next = 0

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=60)

    @asynccontextmanager
    async def database(self) -> AsyncIterator[str]:
        """The URL of an emptied database of the shared Redis, emptied again afterwards."""
        url = f"{self._base}/{self._next}"
        self._next = (self._next + 1) % DATABASES
        await _flush(url)
        try:
            yield url
        finally:
            await _flush(url)

    def close(self) -> None:
        try:
            self._run(self._embedded.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()


async def _flush(url: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
