"""The audit trail: refused attempts that matter for security, kept in a capped Redis stream.

Refusals of someone identified (a token the server signed, an admin key or a teacher token
that worked) are stored one by one. Unauthenticated noise (garbage tokens, no credentials,
guessed lesson codes) is only counted, by hour, code and address block: anyone can make it
in bulk, and stored one by one it would push the real entries out of the capped stream.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from store.errors import UNAVAILABLE
from store.protocols import AuditRows

log = logging.getLogger(__name__)

# Refusals worth an audit entry: someone tried what they have no right to.
AUDITED = frozenset({
    "forbidden", "wrong-lesson", "removed", "bad-token", "token-expired", "link-revoked",
    "unknown-learner", "not-a-student", "too-many-attempts", "unknown-code",
    "too-many-guests",
})  # fmt: skip
# Anyone can cause these without holding anything the server issued: counted, not stored.
NOISE = frozenset({"auth-required", "bad-token", "unknown-code", "too-many-attempts",
                   "invalid-name"})  # fmt: skip
MAX_ENTRIES = 100_000
MAX_PENDING = 10_000
MAX_COUNTERS = 10_000  # distinct (hour, event, code, block) waiting to be written
NOISE_KEEP_S = 30 * 86400
CLOSE_WAIT_S = 2.0


class Audit:
    """Queues entries and writes them in the background: auditing never blocks a refusal."""

    def __init__(self, rows: AuditRows) -> None:
        self.rows = rows
        self._pending: deque[dict[str, str]] = deque(maxlen=MAX_PENDING)
        self._counts: Counter[tuple[str, str]] = Counter()  # (hour, field) -> new count
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.sleep(0)  # let a last entry in
            # A cancel that lands inside a Redis call may be swallowed there: the loop must
            # also see that it is closing, or closing waits for ever (seen as a hung teardown).
            self._closing = True
            self._wake.set()
            # The writer first finishes the batch it holds: cancelled inside its write, the
            # counters it had taken were lost. One stuck on an unreachable Redis is cancelled.
            await asyncio.wait({self._task}, timeout=CLOSE_WAIT_S)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            await self._flush()

    def record(self, code: str, **detail: Any) -> None:
        if code in NOISE:
            self.count(code, str(detail.get("event", "")), detail.get("address"))
            return
        if code not in AUDITED:
            return
        entry = {"ts": str(int(time.time() * 1000)), "code": code}
        entry.update({k: json.dumps(v) if not isinstance(v, str) else v[:200]
                      for k, v in detail.items() if v is not None})  # fmt: skip
        self._pending.append(entry)
        self._wake.set()

    def count(self, code: str, event: str, address: str | None) -> None:
        """One more unauthenticated refusal in this hour, from this address block."""
        hour = datetime.now(UTC).strftime("%Y-%m-%dT%H")
        field = f"{event[:40]}|{code}|{address_block(address)}"
        if (hour, field) not in self._counts and len(self._counts) >= MAX_COUNTERS:
            field = f"{event[:40]}|{code}|other"  # a spray of addresses: one line, still counted
        self._counts[(hour, field)] += 1
        self._wake.set()

    async def counts(self, hours: int = 24) -> list[dict[str, Any]]:
        """The noise counters of the last `hours` hours, newest hour first."""
        now = time.time()
        hours_back = [datetime.fromtimestamp(now - 3600 * h, UTC) for h in range(hours)]
        out = []
        for moment in hours_back:
            hour = moment.strftime("%Y-%m-%dT%H")
            for field, n in sorted((await self.rows.hour(hour)).items()):
                event, code, block = str(field).split("|", 2)
                out.append({"hour": hour, "event": event, "code": code, "network": block,
                            "count": int(n)})  # fmt: skip
        return out

    async def _run(self) -> None:
        while not self._closing:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        await self._flush_counts()
        while self._pending:
            entry = self._pending[0]
            try:
                await self.rows.add(entry)
            except UNAVAILABLE as exc:
                log.warning("audit entry not stored yet: %s", exc)
                await asyncio.sleep(1)
                return
            self._pending.popleft()

    async def _flush_counts(self) -> None:
        if not self._counts:
            return
        counts, self._counts = self._counts, Counter()
        try:
            await self.rows.add_counts(counts)
        except UNAVAILABLE as exc:
            log.warning("audit counters not stored yet: %s", exc)
            self._counts.update(counts)

    async def entries(self, count: int = 100) -> list[dict[str, Any]]:
        """The newest entries first."""
        return await self.rows.newest(count)

    async def trim(self, before_ms: int) -> None:
        """Forget the entries stored before `before_ms` (retention)."""
        await self.rows.trim(before_ms)


class RedisAuditRows:
    """The entries in one capped stream; the noise counters in one hash per hour."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis, self.key = redis, f"{prefix}:audit"

    async def add(self, entry: dict[str, str]) -> None:
        await self.redis.xadd(self.key, entry, maxlen=MAX_ENTRIES, approximate=True)  # type: ignore[arg-type]

    async def add_counts(self, counts: Counter[tuple[str, str]]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for (hour, field), n in counts.items():
            pipe.hincrby(self._hour_key(hour), field, n)
            pipe.expire(self._hour_key(hour), NOISE_KEEP_S)
        await pipe.execute()

    async def hour(self, hour: str) -> dict[str, int]:
        rows: Any = await self.redis.hgetall(self._hour_key(hour))
        return {str(field): int(n) for field, n in rows.items()}

    async def newest(self, count: int) -> list[dict[str, Any]]:
        rows: Any = await self.redis.xrevrange(self.key, count=count)
        return [dict(fields) for _, fields in rows]

    async def trim(self, before_ms: int) -> None:
        # A stream id starts with the ms it was added at: trimming by id is trimming by age.
        await self.redis.xtrim(self.key, minid=before_ms, approximate=False)

    def _hour_key(self, hour: str) -> str:
        return f"{self.key}:noise:{hour}"


def address_block(address: str | None) -> str:
    """The /24 (IPv4) or /48 (IPv6) an address is in: enough to see where noise comes from."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
