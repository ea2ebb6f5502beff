"""The per-lesson event log in Redis Streams, written in order through a bounded outbox."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from core import events as e
from core.events import Record, event_from_dict, event_to_dict
from store.alive import AliveMarks, alive_key
from store.personal import chat_field, restore, split, text_key
from store.replication import Replication

log = logging.getLogger(__name__)

_ALREADY_STORED = "equal or smaller than the target stream top item"
READ_CHUNK = 2000


class OutboxFull(Exception):
    """Redis has been unreachable long enough that the outbox reached its bound."""


@dataclass
class _Pending:
    key: str
    texts: str  # the lesson's text hash (store/personal.py)
    record: Record
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


def lesson_key(prefix: str, lesson_id: str) -> str:
    # The hash tag keeps a lesson's keys in one Redis Cluster slot.
    return f"{prefix}:lesson:{{{lesson_id}}}:log"


def encode(record: Record) -> tuple[dict[str, str], tuple[str, str] | None]:
    """The stream entry, and the (text hash field, value) kept beside it, if any."""
    personal = split(record)
    if personal is not None:
        record = personal[0]
    data = event_to_dict(record.event)
    entry = {
        "seq": str(record.seq),
        "ts": str(record.ts_ms),
        "actor": record.actor,
        "type": data["type"],
        "data": json.dumps(data["data"], ensure_ascii=False, separators=(",", ":")),
    }
    if personal is None:
        return entry, None
    entry["text"], entry["attr"] = personal[1], personal[2]
    return entry, (personal[1], personal[3])


def decode(fields: dict[str, str], texts: dict[str, str | None] | None = None) -> Record:
    """A record from its stream entry and the lesson's text hash (`texts`, by field)."""
    data = json.loads(fields["data"])
    if "text" in fields:
        restore(data, fields["attr"], (texts or {}).get(fields["text"]))
    event = event_from_dict(fields["type"], data)
    return Record(int(fields["seq"]), int(fields["ts"]), fields["actor"], event)


class EventLog:
    """Appends records in order, in pipelined batches; an ack waits for `append`'s future.

    Each record is written with the stream id `<seq>-1`, so a retry of a write whose reply
    was lost is refused by Redis as "not newer" and counted as stored: never twice.
    With `replication` (store/replication.py), a batch counts as stored only once WAIT says
    enough replicas have it: a primary that dies then loses no acknowledged event.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str, outbox_max: int, batch: int = 512,
                 replication: Replication | None = None):  # fmt: skip
        self.redis, self.prefix = redis, prefix
        self.replication = replication
        self.outbox_max, self.batch = outbox_max, batch
        self.alive = AliveMarks(redis, prefix)
        self._outbox: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.healthy = True

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="eventlog-writer")

    async def close(self) -> None:
        """Flush what can be flushed within a moment, then stop the writer."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.drained(), timeout=5)
        except TimeoutError:
            log.error("closing with %d events not stored", len(self._outbox))
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def drained(self) -> None:
        while self._outbox:
            await asyncio.gather(*(p.done for p in list(self._outbox)), return_exceptions=True)

    @property
    def pending(self) -> int:
        return len(self._outbox)

    def check_room(self, count: int = 1) -> None:
        if len(self._outbox) + count > self.outbox_max:
            raise OutboxFull(f"{len(self._outbox)} events are waiting for Redis")

    def append(self, lesson_id: str, records: tuple[Record, ...]) -> asyncio.Future[None]:
        """Queue records (already applied in memory); the future resolves once all are stored."""
        key = lesson_key(self.prefix, lesson_id)
        texts = text_key(self.prefix, lesson_id)
        pending = [_Pending(key, texts, r) for r in records]
        self._outbox.extend(pending)
        if pending:
            self._wake.set()
        if pending:
            return pending[-1].done
        if self._outbox:  # nothing new: wait for what is queued already (e.g. an original)
            return self._outbox[-1].done
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def _run(self) -> None:
        delay = 0.05
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                try:
                    await self._write_batch()
                    delay, self.healthy = 0.05, True
                except (RedisError, OSError) as exc:
                    if self.healthy:
                        log.error("Redis write failed, holding %d events: %s", self.pending, exc)
                    self.healthy = False
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)

    async def _write_batch(self) -> None:
        batch = [self._outbox[i] for i in range(min(self.batch, len(self._outbox)))]
        pipe = self.redis.pipeline(transaction=False)
        at: list[int] = []  # where each XADD's reply is among the replies
        for p in batch:
            entry, personal = encode(p.record)
            if personal is not None:  # stored first: a reader of the entry finds its text
                pipe.hset(p.texts, personal[0], personal[1])
            if isinstance(p.record.event, e.ChatDeleted):  # a deleted message is unreadable
                pipe.hdel(p.texts, chat_field(p.record.event.message_id))
            pipe.xadd(p.key, entry, id=f"{p.record.seq}-1")  # type: ignore[arg-type]
            at.append(len(pipe) - 1)
        needed = await self.replication.needed() if self.replication else 0
        if self.replication is not None and needed:
            self.replication.ask(pipe, f"{self.prefix}:replicated", needed)
        every = await pipe.execute(raise_on_error=False)
        waited = every.pop() if needed else None
        xadds = set(at)
        extra = [r for i, r in enumerate(every) if i not in xadds]
        if bad := [r for r in extra if isinstance(r, (RedisError, OSError))]:
            raise bad[0]
        replies = [every[i] for i in at]
        for reply in replies:
            if isinstance(reply, ResponseError) and _ALREADY_STORED not in str(reply):
                raise reply
            if isinstance(reply, (RedisError, OSError)) and not isinstance(reply, ResponseError):
                raise reply
        if self.replication is not None and needed:
            self.replication.check(waited, needed)
        for p in batch:
            self._outbox.popleft()
            if not p.done.done():
                p.done.set_result(None)

    async def read(self, lesson_id: str, after_seq: int = 0, limit: int = 0) -> list[Record]:
        """The log of a lesson after `after_seq` (all of it, or `limit` records), oldest first.

        Rows are decoded in a thread, a chunk at a time: a huge log never holds the loop.
        """
        key = lesson_key(self.prefix, lesson_id)
        records: list[Record] = []
        start = f"({after_seq}-1" if after_seq else "-"
        while True:
            count = min(READ_CHUNK, limit - len(records)) if limit else READ_CHUNK
            rows: Any = await self.redis.xrange(key, min=start, count=count)
            records += await self.decode_rows(lesson_id, rows)
            if len(rows) < count or len(records) == limit:
                return records
            start = "(" + rows[-1][0]

    async def decode_rows(self, lesson_id: str, rows: list[Any]) -> list[Record]:
        """Stream entries as records, with their personal text read from beside the log."""
        return await decode_rows(self.redis, self.prefix, lesson_id, rows)

    # -- what the organizer's data rights and retention do to a lesson's stored data --------

    async def rewrite_texts(self, lesson_id: str, values: dict[str, Any], drop: list[str]) -> None:
        """Replace (`values`, by field) and remove (`drop`) personal text, in one transaction."""
        texts = text_key(self.prefix, lesson_id)
        pipe = self.redis.pipeline(transaction=True)
        for name, value in values.items():
            pipe.hset(texts, name, json.dumps(value))
        if drop:
            pipe.hdel(texts, *drop)
        await pipe.execute()

    async def expire(self, lesson_id: str, seconds: int) -> None:
        """The lesson's log and text are gone `seconds` from now (retention of an ended lesson)."""
        for key in (lesson_key(self.prefix, lesson_id), text_key(self.prefix, lesson_id)):
            await self.redis.expire(key, seconds)

    async def delete(self, lesson_id: str) -> None:
        """The lesson's log, its text and its alive mark, at once."""
        keys = lesson_key, text_key, alive_key
        await self.redis.delete(*(key(self.prefix, lesson_id) for key in keys))

    async def compact(self) -> None:
        """Ask Redis to rewrite its append-only file, so erased text leaves the disk too."""
        try:
            await self.redis.bgrewriteaof()
        except RedisError as exc:  # already rewriting, or not allowed on a shared Redis
            log.info("append-only file not rewritten now: %s", exc)


async def decode_rows(
    redis: aioredis.Redis, prefix: str, lesson_id: str, rows: list[Any]
) -> list[Record]:
    """Stream entries of a lesson as records, with their personal text read from beside the log.

    Decoded in a thread: a huge log never holds the loop.
    """
    wanted = sorted({fields["text"] for _, fields in rows if "text" in fields})
    texts: dict[str, str | None] = {}
    if wanted:
        values: Any = await redis.hmget(text_key(prefix, lesson_id), wanted)
        texts = dict(zip(wanted, values, strict=True))
    return await asyncio.to_thread(_decode_rows, rows, texts)


def _decode_rows(rows: list[Any], texts: dict[str, str | None]) -> list[Record]:
    return [decode(fields, texts) for _, fields in rows]
