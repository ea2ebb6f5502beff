""" "What I missed": a learner back after a gap of 10 s or more is offered that stretch.

The offer rides on the join reply (`missed`, docs/protocol.md): the gap on the lesson clock
and a signed link (lessons/media_links.py) to the catch-up route, which answers with the
teacher's sound for exactly that gap (its duration and size) and the lesson's moments in it.
Where the learner stood just before joining again is noted first: a drop counts from when
the server last heard them, a departure from when they left.
"""

from __future__ import annotations

import time
from typing import Any

from core.lesson import Lesson
from core.replay import missed_gap
from core.state import Participant
from lessons.media_links import MediaLinks


class CatchUp:
    """Notes a learner's presence before a join; makes the offer for the join reply."""

    def __init__(self, links: MediaLinks) -> None:
        self.links = links
        self._before: dict[tuple[str, str], tuple[str, int, int]] = {}

    def before(self, lesson: Lesson, pid: str) -> None:
        p = lesson.participants.get(pid)
        if p is not None and p.role != "teacher":
            self._before[(lesson.id, pid)] = (p.presence, p.since_ms, p.gap_from_ms)

    def offer(self, lesson: Lesson, me: Participant, link_version: int) -> dict[str, Any]:
        """{"missed": ...} for the join reply, or nothing if there is nothing to catch up on."""
        prior = self._before.pop((lesson.id, me.id), None)
        if prior is None or me.presence != "present":
            return {}
        gap = missed_gap(*prior, back_ms=me.since_ms)
        if gap is None:
            return {}
        who = f"guest:{me.id}" if me.role == "guest" else f"student:{me.id}:{link_version}"
        a, b = gap
        query = self.links.query(lesson.id, f"catch-up:{a}-{b}", who, time.time())
        url = f"/api/recordings/{lesson.id}/catch-up?from={a}&to={b}&{query}"
        return {"missed": {"from_ms": a, "to_ms": b, "url": url}}
