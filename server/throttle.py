"""Per-address throttling of guesses (lesson codes): a sliding window of failures."""

from __future__ import annotations

from collections import defaultdict, deque

from server.classroom.errors import Refused


class FailureThrottle:
    """At most `limit` failures per address per `window_s`; then refuse for the rest of it."""

    def __init__(self, limit: int, window_s: float = 60.0, max_addresses: int = 100_000):
        self.limit, self.window_s, self.max_addresses = limit, window_s, max_addresses
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures[address]
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def check(self, address: str, now: float) -> None:
        if len(self._recent(address, now)) >= self.limit:
            raise Refused("too-many-attempts", "Too many wrong codes; wait a minute and retry.")

    def failed(self, address: str, now: float) -> None:
        if len(self._failures) >= self.max_addresses:
            self._forget_idle(now)
        self._recent(address, now).append(now)

    def _forget_idle(self, now: float) -> None:
        for address in [a for a, t in self._failures.items() if not self._recent(a, now)]:
            del self._failures[address]
