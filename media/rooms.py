"""Media signaling over the lesson's socket: publish, subscribe, receive modes, ICE, the floor.

One MediaRoom (media/room.py) per lesson runs in a media worker process
(media/worker.py), the lesson pinned to one worker (media/workers.py); this module only
checks who may do what (from the lesson's state, never the payload), relays the request to
the lesson's worker and turns MediaError into refusals.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from config import MediaSettings, RecordingSettings
from core import events as e
from core.errors import Refused
from core.lesson import Actor, Lesson
from lessons.bus import LessonBus
from media.errors import MediaError
from media.slot import Seat
from media.turn import IceServers, is_turn
from media.worker import RoomOptions
from media.workers import Liveness, MediaWorkers, RemoteRoom, worker_count

log = logging.getLogger(__name__)

# Media requests one participant may have unanswered: the pages send one at a time per
# connection, plus the teacher's `media_receiving` polls, and trickle their few candidates
# without waiting (each waits in the worker, up to 10 s, for its connection's description).
# More is a script's flood, refused here before it costs the worker anything.
IN_FLIGHT = {"requests": 8, "candidates": 32}
# Told of a lesson's recording: (lesson, state "on"/"failed", reason) from its worker.
RecordingNews = Callable[[str, str, str], None]


_MEDIA_EVENTS = (
    e.FloorTaken,
    e.ParticipantTimedOut,
    e.LessonEnded,
    e.RecordingStarted,
    e.RecordingStopped,
)


def _concerns_media(ev: e.Event) -> bool:
    """The floor taken back, someone gone for good, the lesson over, recording on or off.

    A network drop keeps the media: the WebRTC path may well be alive, and the participant is
    back within the grace window most of the time.
    """
    return isinstance(
        ev,
        (
            e.FloorTaken,
            e.ParticipantTimedOut,
            e.LessonEnded,
            e.RecordingStarted,
            e.RecordingStopped,
        ),
    ) or (isinstance(ev, e.ParticipantLeft) and ev.reason != "network")


class MediaRooms:
    """The media rooms of the lessons this process serves, each in its pinned worker."""

    def __init__(
        self,
        settings: MediaSettings,
        bus: LessonBus,
        ice: IceServers,
        recording: RecordingSettings | None = None,
        recording_root: Path = Path("var/recordings"),
    ) -> None:
        self.settings, self.bus, self.ice = settings, bus, ice
        self.recording_settings = recording or RecordingSettings()
        self.recording_root = recording_root
        self.recording: set[str] = set()  # lessons told to record, in their worker
        self._recording_news: list[RecordingNews] = []
        # The server's own side: a TURN entry without static credentials (turn_secret in use)
        # would only make aiortc try an allocation it cannot authenticate.
        own = tuple(s for s in ice.servers if not (is_turn(s) and not s["username"]))
        options = RoomOptions(
            own,
            settings.ice_host_addresses,
            settings.ice_accept_remote_ips,
            settings.max_peers_per_lesson,
        )
        liveness = Liveness(settings.worker_ping_s, settings.worker_ping_timeout_s)
        self.workers = MediaWorkers(
            worker_count(settings.workers), options, self._lost, liveness, self._worker_news
        )
        self._following: dict[str, asyncio.Task[None]] = {}  # the latest follow-up per lesson
        self._in_flight: collections.Counter[tuple[str, str, str]] = collections.Counter()
        bus.on_stored(self)

    def _lost(self, lesson_ids: list[str]) -> None:
        """Lessons whose media died with its worker: their pages are told to start again."""
        for lesson_id in lesson_ids:
            self.bus.notice(lesson_id, "media_restart", {})
            if lesson_id in self.recording:  # its recorder died too
                self.recording.discard(lesson_id)
                self._tell_recording(lesson_id, "failed", "worker-lost")

    def on_recording(self, listener: RecordingNews) -> None:
        """Hear of recordings that failed or resumed by themselves (signaling/recording.py)."""
        self._recording_news.append(listener)

    def _worker_news(self, news: dict[str, Any]) -> None:
        if news.get("event") == "recording":
            self._tell_recording(str(news["lesson"]), str(news["state"]), str(news["reason"]))

    def _tell_recording(self, lesson_id: str, state: str, reason: str) -> None:
        for listener in self._recording_news:
            listener(lesson_id, state, reason)

    async def record(self, lesson_id: str) -> None:
        """Record the lesson's media in its worker (starting one if none is running)."""
        s = self.recording_settings
        folder = str(self.recording_root / lesson_id)
        self.recording.add(lesson_id)  # at once: nobody asks twice while this one waits
        try:
            await self.room(lesson_id).record(folder, s.segment_s, s.retry_s)
        except MediaError:
            self.recording.discard(lesson_id)
            raise

    def room(self, lesson_id: str) -> RemoteRoom:
        return self.workers.room(lesson_id)

    async def start(self) -> None:
        """Start every worker now rather than on a lesson's first media request."""
        await self.workers.start()

    async def close(self) -> None:
        await asyncio.gather(*self._following.values(), return_exceptions=True)
        await self.workers.close()

    async def __call__(self, lesson: Lesson, records: tuple[e.Record, ...]) -> None:
        """Follow the lesson: the floor taken back, someone gone, the lesson over.

        In the background, in order per lesson: a command's ack never waits for a worker.
        """
        events = [r.event for r in records if _concerns_media(r.event)]
        if self.workers.pinned(lesson.id) is None:
            # No media yet (or its worker died: nothing of it is left to stop), but a
            # recording starts a room in a worker, ready for the media to come.
            events = [ev for ev in events if isinstance(ev, e.RecordingStarted)]
        if not events:
            return
        previous = self._following.get(lesson.id)
        task = asyncio.create_task(self._follow(lesson.id, events, previous))
        self._following[lesson.id] = task
        task.add_done_callback(partial(self._followed, lesson.id))

    def _followed(self, lesson_id: str, task: asyncio.Task[None]) -> None:
        if self._following.get(lesson_id) is task:
            del self._following[lesson_id]

    async def _follow(
        self, lesson_id: str, events: list[e.Event], previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        room = self.room(lesson_id)
        for ev in events:
            try:
                if isinstance(ev, e.FloorTaken):
                    await room.unpublish(ev.participant_id)
                elif isinstance(ev, e.RecordingStarted):
                    await self.record(lesson_id)
                elif isinstance(ev, e.RecordingStopped):
                    self.recording.discard(lesson_id)
                    await room.stop_recording()
                elif isinstance(ev, e.LessonEnded):
                    self.recording.discard(lesson_id)  # closing its room ends its recording
                    await self.workers.release(lesson_id)
                    return
                elif isinstance(ev, (e.ParticipantTimedOut, e.ParticipantLeft)):
                    await room.remove(ev.participant_id)
            except MediaError as error:
                log.warning("media of lesson %s did not follow %s: %s", lesson_id, ev, error)
                if isinstance(ev, e.RecordingStarted):  # no worker would take it
                    self._tell_recording(lesson_id, "failed", "worker-lost")

    async def handle(
        self, lesson: Lesson, actor: Actor, event: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        p = lesson.participants.get(actor.participant_id)
        if p is None or p.presence != "present":
            raise Refused("not-joined", "Join the lesson first.")
        method = getattr(self, f"_on_{event}")
        kind = "candidates" if event == "media_ice" else "requests"
        key = (lesson.id, actor.participant_id, kind)
        if self._in_flight[key] >= IN_FLIGHT[kind]:
            raise Refused("media-busy", "Wait for the answers to your earlier media requests.")
        self._in_flight[key] += 1
        try:
            return await method(self.room(lesson.id), lesson, actor.participant_id, data)  # type: ignore[no-any-return]
        except MediaError as error:
            raise Refused(error.code, str(error)) from None
        finally:
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]

    async def _on_media_publish(
        self, room: RemoteRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        allowed = lesson.may_publish(pid)
        if not allowed:
            raise Refused(
                "not-allowed", "Only the teacher, or a student given the floor, can do this."
            )
        seat: Seat = "teacher" if lesson.participants[pid].role == "teacher" else "floor"
        kinds = data.get("track_kinds")
        if kinds is not None and not (
            isinstance(kinds, dict) and all(isinstance(v, str) for v in kinds.values())
        ):
            raise Refused(
                "invalid-payload", "'track_kinds' maps m-line ids to mic, camera or screen."
            )
        answer = await room.publish(pid, data["sdp"], allowed, seat=seat, track_kinds=kinds)
        return {"sdp": answer, "allowed": sorted(allowed)}

    async def _on_media_unpublish(
        self, room: RemoteRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        await room.unpublish(pid)
        return {}

    async def _on_media_subscribe(
        self, room: RemoteRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        return {"sdp": await room.subscribe(pid, data["mode"])}

    async def _on_media_mode(
        self, room: RemoteRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        return {"sdp": await room.set_mode(pid, data["mode"])}

    async def _on_media_answer(
        self, room: RemoteRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        await room.subscriber_answer(pid, data["sdp"])
        return {}

    async def _on_media_ice(
        self, room: RemoteRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        candidate = data.get("candidate")
        if candidate is not None and not isinstance(candidate, dict):
            raise Refused("invalid-payload", "'candidate' is an RTCIceCandidate object or null.")
        await room.add_ice_candidate(pid, data["direction"], candidate)
        return {}

    async def _on_media_receiving(
        self, room: RemoteRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """What each participant receives: the teacher sees everyone, others themselves."""
        mine = lesson.participants[pid].role != "teacher"
        return {"receiving": await room.receiving([pid] if mine else list(lesson.participants))}
