"""Media operations one at a time per participant and direction; a newer request wins.

A student's script can send hundreds of overlapping `media_subscribe` requests. Run side by
side, each would build a peer connection (and its UDP sockets) while the others close theirs
half-built, and aioice would open sockets for connections that were already closed. Taken in
turn, each request finds the previous connection complete and closes it; and a request that
a newer one of the same kind overtook while it waited is refused without building anything,
so a flood costs one connection, not one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable

from media.errors import MediaError


class Turns:
    """One lock per key; `closed` refuses everything still waiting (the lesson is over)."""

    def __init__(self) -> None:
        self.closed = False
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._latest: dict[Hashable, int] = {}

    @contextlib.asynccontextmanager
    async def take(
        self, key: Hashable, *, supersedes: bool, final: bool = False
    ) -> AsyncIterator[None]:
        """Wait for the key's turn; a superseding request refuses the ones queued before it.

        A final request (closing what a participant has) is never refused as superseded.
        """
        ticket = self._latest.get(key, 0) + supersedes
        self._latest[key] = ticket
        async with self._locks.setdefault(key, asyncio.Lock()):
            if self.closed:
                raise MediaError("media-closed", "This lesson's media has ended.")
            if self._latest[key] != ticket and not final:
                raise MediaError("superseded", "A newer request replaced this one.")
            yield

    async def close(self) -> None:
        """Refuse what waits and let what runs finish, so that nothing is half-built."""
        self.closed = True
        for lock in list(self._locks.values()):
            async with lock:
                pass
