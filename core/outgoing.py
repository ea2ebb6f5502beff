"""One server-to-client message as the core describes it: to whom, its name, its payload."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ALL = "all"
TEACHERS = "teachers"


@dataclass(frozen=True)
class Outgoing:
    """One server-to-client message: audience is ALL, TEACHERS or a participant id.

    A payload may be a function: it is then computed only when the message is really sent,
    so coalesced counts and tallies cost nothing for the events that are not sent.
    """

    audience: str
    name: str
    payload: dict[str, Any] | Callable[[], dict[str, Any]]

    def body(self) -> dict[str, Any]:
        return self.payload() if callable(self.payload) else self.payload
