"""Limits a lesson enforces: text length, rate windows; set from configuration."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from core.errors import Refused


@dataclass(frozen=True)
class Rules:
    chat_max_chars: int = 1000
    chat_rate_messages: int = 5
    chat_rate_window_ms: int = 5000
    chat_history_replay: int = 500
    hand_rate_per_minute: int = 20
    check_window_ms: int = 60_000
    grace_ms: int = 120_000
    quiz_max_extension_ms: int = 120_000
    waiting_room_max: int = 50
    # Budgets against log flooding (issue 12): every stored event of a participant counts.
    events_per_minute: int = 120  # anything one participant causes (a teacher: ten times)
    join_rate_per_minute: int = 10  # joins and waiting-room entries, so also leave cycles
    visibility_interval_ms: int = 5000  # at most one stored flip per interval; last wins
    answer_changes: int = 3  # changes of one's answer to one poll or one quiz question
    max_events: int = 200_000  # a lesson's log ceiling
    auto_end_no_teacher_ms: int = 0  # 0: a lesson without its teacher stays live
    auto_end_after_ms: int = 0  # 0: a lesson may run for ever
    record_by_default: bool = False  # [recording] default: recorded from the start

    def check_chat_text(self, text: str) -> None:
        if not text.strip():
            raise Refused("empty-message", "A message cannot be empty.")
        if len(text) > self.chat_max_chars:
            raise Refused(
                "message-too-long",
                f"A message can be at most {self.chat_max_chars} characters long.",
            )

    @staticmethod
    def normalize_text(text: str) -> str:
        """NFC, trimmed, and without control characters other than newline and tab."""
        text = unicodedata.normalize("NFC", text).strip()
        return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def sliding_window_full(times: list[int], now_ms: int, limit: int, window_ms: int) -> bool:
    """True when `limit` events already happened within `window_ms` before `now_ms`."""
    return window_opens_at(times, limit, window_ms) > now_ms


def window_opens_at(times: list[int], limit: int, window_ms: int) -> int:
    """When the window next has room: the `limit`-th newest time leaves it (0: room now)."""
    return times[-limit] + window_ms if limit and len(times) >= limit else 0


def note_time(times: list[int], ts_ms: int, keep: int) -> None:
    """Remember one more stored event; only the newest `keep` times matter to a window."""
    times.append(ts_ms)
    if len(times) > keep:
        del times[:-keep]


def rate_limited(message: str) -> Refused:
    return Refused("rate-limited", message)


def too_many_changes() -> Refused:
    return Refused("too-many-changes", "You have changed this answer too many times.")
