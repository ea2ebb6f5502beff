"""Media signaling over the lesson's socket: publish, subscribe, receive modes, ICE, the floor.

One MediaRoom (signaling/sfu.py) per lesson runs in this process; this module only checks who
may do what (from the lesson's state, never the payload) and turns MediaError into refusals.
"""

from __future__ import annotations

import logging
from typing import Any

from config import MediaSettings
from server.classroom import events as e
from server.classroom.errors import Refused
from server.classroom.lesson import Actor, Lesson
from signaling.sfu import MediaError, MediaRoom, Seat

log = logging.getLogger(__name__)


def ice_servers(settings: MediaSettings) -> list[dict[str, Any]]:
    return [
        {"urls": list(s.urls), "username": s.username, "credential": s.credential}
        for s in settings.ice_servers
    ]


class MediaRooms:
    """The media rooms of the lessons this process serves, made on first use."""

    def __init__(self, settings: MediaSettings) -> None:
        self.settings = settings
        self.ice_servers = ice_servers(settings)  # what browsers need too (join ack)
        self._rooms: dict[str, MediaRoom] = {}

    def room(self, lesson_id: str) -> MediaRoom:
        if lesson_id not in self._rooms:
            self._rooms[lesson_id] = MediaRoom(
                ice_servers=self.ice_servers,
                ice_host_addresses=self.settings.ice_host_addresses,
                ice_accept_remote_ips=self.settings.ice_accept_remote_ips,
            )
        return self._rooms[lesson_id]

    async def close(self) -> None:
        for room in self._rooms.values():
            await room.close()
        self._rooms.clear()

    async def __call__(self, lesson: Lesson, records: tuple[e.Record, ...]) -> None:
        """Follow the lesson: the floor taken back, someone gone, the lesson over."""
        room = self._rooms.get(lesson.id)
        if room is None:
            return
        for record in records:
            ev = record.event
            if isinstance(ev, e.FloorTaken):
                await room.unpublish(ev.participant_id)
            elif isinstance(ev, e.ParticipantTimedOut) or (
                isinstance(ev, e.ParticipantLeft) and ev.reason != "network"
            ):
                # A network drop keeps the media: the WebRTC path may well be alive, and
                # the participant is back within the grace window most of the time.
                await room.remove(ev.participant_id)
            elif isinstance(ev, e.LessonEnded):
                await self._rooms.pop(lesson.id).close()
                return

    async def handle(
        self, lesson: Lesson, actor: Actor, event: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        p = lesson.participants.get(actor.participant_id)
        if p is None or p.presence != "present":
            raise Refused("not-joined", "Join the lesson first.")
        method = getattr(self, f"_on_{event}")
        try:
            return await method(self.room(lesson.id), lesson, actor.participant_id, data)  # type: ignore[no-any-return]
        except MediaError as error:
            raise Refused(error.code, str(error)) from None

    async def _on_media_publish(
        self, room: MediaRoom, lesson: Lesson, pid: str, data: dict[str, Any]
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
        self, room: MediaRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        await room.unpublish(pid)
        return {}

    async def _on_media_subscribe(
        self, room: MediaRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        return {"sdp": await room.subscribe(pid, data["mode"])}

    async def _on_media_mode(
        self, room: MediaRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        return {"sdp": await room.set_mode(pid, data["mode"])}

    async def _on_media_answer(
        self, room: MediaRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        await room.subscriber_answer(pid, data["sdp"])
        return {}

    async def _on_media_ice(
        self, room: MediaRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        candidate = data.get("candidate")
        if candidate is not None and not isinstance(candidate, dict):
            raise Refused("invalid-payload", "'candidate' is an RTCIceCandidate object or null.")
        await room.add_ice_candidate(pid, data["direction"], candidate)
        return {}

    async def _on_media_receiving(
        self, room: MediaRoom, lesson: Lesson, pid: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """What each participant receives: the teacher sees everyone, others themselves."""
        if lesson.participants[pid].role != "teacher":
            return {"receiving": {pid: room.receiving(pid)}}
        return {"receiving": {p: room.receiving(p) for p in lesson.participants}}
