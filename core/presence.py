"""Presence timelines from a lesson log: who was there when, and why each gap happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core import events as e

State = Literal[
    "present", "listening", "background", "network", "left", "removed", "server", "waiting"
]
ATTENDING: tuple[State, ...] = ("present", "listening", "background")  # connected, in the lesson
GAP_STATES: tuple[State, ...] = ("background", "network", "left", "removed", "server")

Span = tuple[int, int]  # [start, end) in ms
FOREVER = 2**63  # the end of a stretch still going on

_GAP_OF: dict[str, State] = {"network": "network", "left": "left", "removed": "removed"}


@dataclass(frozen=True)
class Segment:
    start_ms: int
    end_ms: int
    state: State

    @property
    def minutes(self) -> float:
        return (self.end_ms - self.start_ms) / 60_000


@dataclass
class Timeline:
    """One participant's segments, from their first arrival to the end of the lesson."""

    participant_id: str
    name: str
    role: str
    segments: list[Segment] = field(default_factory=list)
    state: State | None = None
    since_ms: int = 0

    def switch(self, state: State | None, at_ms: int) -> None:
        """Close the open segment at `at_ms` (never before it began) and open `state`."""
        if self.state is not None:
            at_ms = max(at_ms, self.since_ms)
            if at_ms > self.since_ms:
                self.segments.append(Segment(self.since_ms, at_ms, self.state))
        self.state, self.since_ms = state, at_ms

    def attending(self) -> list[Span]:
        """The stretches spent in the lesson, the one going on (if any) open-ended."""
        spans = [(s.start_ms, s.end_ms) for s in self.segments if s.state in ATTENDING]
        return [*spans, (self.since_ms, FOREVER)] if self.state in ATTENDING else spans

    def minutes_in(self, state: State) -> float:
        return sum(s.minutes for s in self.segments if s.state == state)

    def gaps(self) -> dict[str, dict[str, float]]:
        return {
            state: {
                "count": sum(1 for s in self.segments if s.state == state),
                "minutes": round(self.minutes_in(state), 2),
            }
            for state in GAP_STATES
        }


@dataclass
class PresenceFold:
    """Folds log records into timelines; `finish` closes them at the lesson's end."""

    timelines: dict[str, Timeline] = field(default_factory=dict)
    started_ms: int | None = None
    ended_ms: int | None = None

    def add(self, record: e.Record) -> None:
        ev, ts = record.event, record.ts_ms
        if isinstance(ev, e.LessonStarted):
            self.started_ms = ts
        elif isinstance(ev, e.ParticipantJoined):
            self._timeline(ev.participant_id, ev.name, ev.role).switch("present", ts)
        elif isinstance(ev, e.GuestWaiting):
            self._timeline(ev.participant_id, ev.name, "guest").switch("waiting", ts)
        elif isinstance(ev, e.GuestAdmitted):
            self.timelines[ev.participant_id].switch("present", ts)
        elif isinstance(ev, e.ParticipantLeft):
            self._left(ev, ts)
        elif isinstance(ev, e.VisibilityChanged):
            self._visibility(ev, ts)
        elif isinstance(ev, e.ServerRestarted):
            for t in self.timelines.values():
                if t.state in ATTENDING:
                    t.switch("server", ev.down_since_ms)
        elif isinstance(ev, e.LessonEnded):
            self.ended_ms = ts

    def _timeline(self, pid: str, name: str, role: str) -> Timeline:
        timeline = self.timelines.setdefault(pid, Timeline(pid, name, role))
        timeline.name = name
        return timeline

    def _left(self, ev: e.ParticipantLeft, ts: int) -> None:
        t = self.timelines[ev.participant_id]
        if ev.reason == "denied" or t.state == "waiting":  # never admitted: no gap
            t.switch(None, ts)
            return
        at = ev.last_seen_ms if ev.reason == "network" and ev.last_seen_ms else ts
        t.switch(_GAP_OF.get(ev.reason), at)  # lesson-ended: nothing after it

    def _visibility(self, ev: e.VisibilityChanged, ts: int) -> None:
        t = self.timelines[ev.participant_id]
        if t.state in ATTENDING:
            hidden: State = "listening" if ev.listening else "background"
            t.switch("present" if ev.visible else hidden, ts)

    def finish(self, now_ms: int) -> int:
        """Close every open segment at the lesson's end (or now, if it is still live)."""
        end = self.ended_ms if self.ended_ms is not None else now_ms
        for t in self.timelines.values():
            t.switch(None, end)
        return end
