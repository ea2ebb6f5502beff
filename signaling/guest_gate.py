"""The door for guests with a lesson code: wrong codes slowed, right ones counted and capped.

A correct code is always checked first and never refused because of earlier wrong ones
from the same address (a school behind one NAT, or every client behind a proxy that is
not configured as trusted, shares that address). Past the budget of wrong codes, each
further wrong code is answered only after a delay, which slows guessing without locking
anyone out. Successful entries are limited per address bucket and per lesson, so that a
code read off a projected QR code cannot pour hundreds of fake guests into a lesson.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from config import AuthSettings
from core.errors import Refused
from signaling.client_address import bucket
from signaling.identity import Session
from signaling.throttle import WindowLimit

# How long a wrong code waits for its answer once an address is over its budget: each
# connection is one guess, so this slows a guesser down to (connections it may hold) / 2 s,
# while a person who mistyped waits only a moment longer.
SLOW_WRONG_S = 2.0

Identify = Callable[[], Awaitable[Session]]


class GuestGate:
    """Budgets of one server process, keyed by address bucket (IPv6: the /64) and lesson code.

    With several processes each counts its own connections (nginx's hash on the address
    sends one address to one process, so the per-address budgets still hold).
    """

    def __init__(self, auth: AuthSettings, slow_wrong_s: float = SLOW_WRONG_S) -> None:
        self.wrong = WindowLimit(auth.guest_code_attempts_per_minute)
        self.per_address = WindowLimit(auth.guest_entries_per_address_per_minute)
        self.per_lesson = WindowLimit(auth.guest_entries_per_lesson_per_minute)
        self.slow_wrong_s = slow_wrong_s

    async def enter(self, auth: Any, address: str, identify: Identify) -> Session:
        """`identify()`, with the guest budgets applied when `auth` carries a lesson code."""
        if not (isinstance(auth, dict) and "guest_code" in auth):
            return await identify()
        key = bucket(address)
        try:
            session = await identify()
        except Refused as refused:
            if refused.code == "unknown-code":
                await self._wrong(key)
            raise
        # Counted per lesson *code*: once the teacher gives the lesson a new code, the
        # flood's old code no longer uses up the budget of the guests who get the new one.
        code = str(auth["guest_code"]).strip().upper()
        self._count_entry(key, f"{session.lesson_id}/{code}")
        return session

    async def _wrong(self, key: str) -> None:
        now = time.monotonic()
        over = self.wrong.full(key, now)
        self.wrong.add(key, now)
        if over:
            await asyncio.sleep(self.slow_wrong_s)
            raise Refused(
                "too-many-attempts",
                "Too many wrong codes from your network; check the code and type it again.",
            )

    def _count_entry(self, key: str, lesson_code: str) -> None:
        now = time.monotonic()
        if self.per_address.full(key, now) or self.per_lesson.full(lesson_code, now):
            raise Refused(
                "too-many-guests",
                "Too many guests are joining right now; wait a minute and try again.",
            )
        self.per_address.add(key, now)
        self.per_lesson.add(lesson_code, now)
