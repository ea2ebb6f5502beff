"""Keyframe requests to a publisher's encoder: coalesced per layer, bounded per subscriber.

Every keyframe costs every subscriber of the layer bandwidth (a 640x360 keyframe is ten to
twenty delta frames) and a moment of blur, so the requests of one struggling student must
not turn into a keyframe storm for the class (issue 16: ~65 in 45 s at 0.5 s coalescing).
Two bounds hold:

- per layer, at most one request every KEYFRAME_INTERVAL_S (1 s: a joining student waits at
  most that for a picture), and any keyframe that arrives answers every pending request;
- per subscriber, across the layers of a slot, a token bucket: the request for its first
  picture is free, then one more at once and EXTRA_PER_MINUTE (3) a minute after that (the
  bucket holds one: a stall recovers at once, a storm cannot). A subscriber out of tokens waits for
  the next keyframe anyone gets (of either layer: a waiting feed takes the first), or for
  its next token. Only the subscriber whose token paid for a request is charged.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass

from aiortc import RTCRtpReceiver

from patches.aiortc.ingress import send_pli

KEYFRAME_INTERVAL_S = 1.0
EXTRA_PER_MINUTE = 3
WAITING_GRACE_S = 1.5  # a keyframe asked for is on its way: re-ask only after this


@dataclass
class _Bucket:
    tokens: float
    at: float
    free: bool = False  # a join's request, not charged


class KeyframeBudget:
    """Per subscriber: how many keyframes it may still force (a token bucket, capacity 1)."""

    def __init__(self, per_minute: float = EXTRA_PER_MINUTE) -> None:
        self.rate = per_minute / 60
        self._buckets: dict[str, _Bucket] = {}

    def grant(self, who: str, now: float) -> None:
        """`who` starts receiving: its next request (the first picture) is not charged."""
        self._fill(who, now).free = True

    def ready_at(self, who: str, now: float) -> float:
        bucket = self._fill(who, now)
        if bucket.free or bucket.tokens >= 1:
            return now
        return now + (1 - bucket.tokens) / self.rate

    def charge(self, who: str, now: float) -> bool:
        """Spend one of who's requests; True if it was the free one."""
        bucket = self._fill(who, now)
        if bucket.free:
            bucket.free = False
            return True
        bucket.tokens -= 1
        return False

    def refund(self, who: str, now: float, free: bool) -> None:
        bucket = self._fill(who, now)
        if free:
            bucket.free = True
        else:
            bucket.tokens += 1

    def _fill(self, who: str, now: float) -> _Bucket:
        bucket = self._buckets.setdefault(who, _Bucket(1.0, now))
        bucket.tokens = min(1.0, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        return bucket


class KeyframeRequester:
    """Asks one layer's encoder for a keyframe when a subscriber with a token wants one."""

    def __init__(self, budget: KeyframeBudget) -> None:
        self.budget = budget
        self.receiver: RTCRtpReceiver | None = None
        self.requests: collections.Counter[str] = collections.Counter()
        self.sent = 0
        self._last = -KEYFRAME_INTERVAL_S
        self._pending: set[str] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def request(self, reason: str, who: str) -> None:
        """`who` (a subscriber) wants a keyframe of this layer, for `reason`."""
        now = time.monotonic()
        if reason == "waiting" and (who in self._pending or now - self._last < WAITING_GRACE_S):
            return  # asked already: this frame's ask would only repeat it
        self.requests[reason] += 1
        if who not in self._pending:  # a new payer may be ready sooner
            self._pending.add(who)
            self._cancel()
        self._schedule(now)

    def resume(self) -> None:
        """A receiver is back: ask for what was pending while there was none."""
        self._schedule(time.monotonic())

    def arrived(self) -> None:
        """A keyframe came: everyone pending has it."""
        self._pending.clear()
        self._cancel()

    def _schedule(self, now: float) -> None:
        if self._timer is not None or not self._pending:
            return
        payer = min(self._pending, key=lambda who: self.budget.ready_at(who, now))
        due = max(self._last + KEYFRAME_INTERVAL_S, self.budget.ready_at(payer, now))
        self._timer = asyncio.get_running_loop().call_later(max(0.0, due - now), self._fire)

    def _fire(self) -> None:
        self._timer = None
        now = time.monotonic()
        payer = min(self._pending, key=lambda who: self.budget.ready_at(who, now), default=None)
        if payer is None or self.receiver is None:
            return
        if self.budget.ready_at(payer, now) > now:  # another layer spent its token meanwhile
            self._schedule(now)
            return
        free = self.budget.charge(payer, now)
        self._last = now
        self._pending.clear()
        task = asyncio.ensure_future(self._pli(self.receiver, payer, free))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pli(self, receiver: RTCRtpReceiver, payer: str, free: bool) -> None:
        if await send_pli(receiver):
            self.sent += 1
        else:  # no packet yet, so no SSRC: refund, and the next frame may ask again at once
            self.budget.refund(payer, time.monotonic(), free)
            self._last = -KEYFRAME_INTERVAL_S

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        self._cancel()
