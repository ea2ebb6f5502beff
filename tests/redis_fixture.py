"""A real embedded Redis for tests, started in a temporary directory and always stopped."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from store.redis_launcher import EmbeddedRedis


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
