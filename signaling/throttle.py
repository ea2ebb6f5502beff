"""Per-key sliding windows (per address bucket, per lesson): how many times in the last minute."""

from __future__ import annotations

import itertools
from collections import defaultdict, deque


class WindowLimit:
    """At most `limit` hits per key per `window_s`; `full` says when the next would be over.

    It only counts: what to do past the limit (refuse, slow down) is the caller's choice.
    Once `max_keys` are held, idle keys are forgotten, then the oldest, down to 90 %: a
    flood of fresh addresses can neither grow it without bound nor make every hit scan it.
    """

    def __init__(self, limit: int, window_s: float = 60.0, max_keys: int = 100_000):
        self.limit, self.window_s, self.max_keys = limit, window_s, max_keys
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._hits[key]
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def full(self, key: str, now: float) -> bool:
        if key not in self._hits:
            return False
        return len(self._recent(key, now)) >= self.limit

    def add(self, key: str, now: float) -> None:
        if len(self._hits) >= self.max_keys:
            self._make_room(now)
        times = self._recent(key, now)
        times.append(now)
        if len(times) > self.limit:  # a count past the limit tells nothing more
            times.popleft()

    def _make_room(self, now: float) -> None:
        for key in [k for k in self._hits if not self._recent(k, now)]:
            del self._hits[key]
        excess = len(self._hits) - int(self.max_keys * 0.9)
        for key in list(itertools.islice(self._hits, max(excess, 0))):
            del self._hits[key]  # the oldest first (dicts keep insertion order)
