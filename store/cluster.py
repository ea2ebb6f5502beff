"""Several server processes on one Redis: one process owns each lesson, the others forward.

Ownership is a lease in Redis (`SET NX PX`), renewed by the owner while it runs. Forwarding is
a tiny request/reply protocol over one Redis list per process (its inbox): a process blocks on
its own inbox only, so forwarding costs one connection per process, not one per request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.errors import Refused

log = logging.getLogger(__name__)

LEASE_MS = (
    6_000  # renewed every 2 s by the owner (ALIVE_EVERY_S): a dead owner is replaced within 6 s
)
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Cluster:
    """This process's place among the servers sharing a Redis."""

    def __init__(self, redis: aioredis.Redis, prefix: str, listener: aioredis.Redis) -> None:
        self.redis, self.prefix, self.listener = redis, prefix, listener
        self.id = secrets.token_hex(6)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    def _owner_key(self, lesson_id: str) -> str:
        return f"{self.prefix}:lesson:{{{lesson_id}}}:owner"

    def _inbox(self, process_id: str) -> str:
        return f"{self.prefix}:inbox:{process_id}"

    async def claim(self, lesson_id: str) -> str:
        """The owner of the lesson: this process if nobody holds the lease."""
        key = self._owner_key(lesson_id)
        if await self.redis.set(key, self.id, nx=True, px=LEASE_MS):
            return self.id
        owner = await self.redis.get(key)
        return str(owner) if owner else await self.claim(lesson_id)

    async def renew(self, lesson_ids: list[str]) -> list[str]:
        """Renew our leases; the lessons whose lease another process holds now."""
        lost = []
        for lesson_id in lesson_ids:
            held = await self.redis.eval(_RENEW, 1, self._owner_key(lesson_id), self.id, LEASE_MS)
            if not held:
                lost.append(lesson_id)
        return lost

    async def release(self, lesson_ids: list[str]) -> None:
        """Give our leases up now (deleted, not left to expire: a claim right after finds none)."""
        for lesson_id in lesson_ids:
            await self.redis.eval(_RELEASE, 1, self._owner_key(lesson_id), self.id)

    # -- forwarding -----------------------------------------------------------------------

    def serve(self, handler: Handler) -> None:
        self._task = asyncio.create_task(self._listen(handler), name="cluster-inbox")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for future in self._waiting.values():
            future.cancel()

    async def call(self, owner: str, request: dict[str, Any], timeout: float = 5) -> Any:
        """Ask the owning process; a refusal there is raised here as the same Refused."""
        request_id = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        message = {"kind": "request", "id": request_id, "from": self.id, "body": request}
        try:
            await self.redis.lpush(self._inbox(owner), json.dumps(message))
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise Refused(
                "lesson-unavailable", "The lesson's server is not answering; retry."
            ) from None
        finally:
            self._waiting.pop(request_id, None)
        if "refused" in reply:
            raise Refused(reply["refused"]["code"], reply["refused"]["message"])
        return reply["result"]

    async def _listen(self, handler: Handler) -> None:
        inbox = self._inbox(self.id)
        while True:
            try:
                popped = await self.listener.blpop([inbox], timeout=1)
            except (RedisError, OSError) as exc:
                log.warning("cluster inbox unreachable: %s", exc)
                await asyncio.sleep(1)
                continue
            if popped:
                self._dispatch(json.loads(popped[1]), handler)

    def _dispatch(self, message: dict[str, Any], handler: Handler) -> None:
        if message.get("kind") == "reply":
            future = self._waiting.get(message["id"])
            if future is not None and not future.done():
                future.set_result(message["body"])
            return
        task = asyncio.create_task(self._answer(message, handler))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _answer(self, message: dict[str, Any], handler: Handler) -> None:
        try:
            body: dict[str, Any] = {"result": await handler(message["body"])}
        except Refused as refused:
            body = {"refused": refused.as_dict()}
        except Exception:
            log.exception("forwarded request failed")
            body = {"refused": {"code": "internal", "message": "Something went wrong."}}
        reply = {"kind": "reply", "id": message["id"], "body": body}
        try:
            await self.redis.lpush(self._inbox(message["from"]), json.dumps(reply))
        except RedisError as exc:  # the caller times out and answers lesson-unavailable
            log.warning("reply to %s lost, Redis unreachable: %s", message["from"], exc)
