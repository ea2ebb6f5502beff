"""Recorded lessons over REST: the manifest, signed media, audio clips, catch-up, deletion.

Who may open a recording (server/viewers.py): the course's roster students with their personal
link, its teachers, organizers; a guest only a catch-up clip while the lesson is live. The
manifest is asked for with a bearer token; everything it links to is a short-lived signed
link (lessons/media_links.py) an <audio> or <video> element can fetch, with Range support.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from core.board_replay import board_moments
from core.errors import Refused
from core.replay import learner_gaps, replay_events
from lessons.media_links import audio_resource
from lessons.recordings import CONTENT_TYPES, Segment
from media.audio_clip import Clip, audio_span
from server.appkeys import CLIPS, EVENTLOG, LIVE, MEDIA_LINKS, RECORDINGS, RIGHTS
from server.byte_ranges import ranged
from server.routes import ok, query_int
from server.viewers import Viewer, bearer_viewer, check_who, lesson_of
from store.directory import LessonInfo

recording_routes = web.RouteTableDef()
PRIVATE = {"Cache-Control": "private, max-age=600"}
CLIP_MAX_MS = 6 * 3600_000

# path, method, summary, body, who: rows in the form of server.openapi.OPERATIONS
RECORDING_OPERATIONS: list[tuple[str, str, str, str | None, str]] = [
    ("/api/lessons/{lesson_id}/recording", "get",
     "A lesson's recording for replay: tracks and segments on the lesson clock with signed "
     "links, the audio as one signed Ogg Opus link and a download link, the lesson's moments "
     "(chat, polls, checks, floor, screen switches, recording started/stopped/failed), "
     "the board's moments (the deck page and strokes shown over time) and, for a student, "
     "their own gaps", None, "organizer, teacher, student (personal link)"),
    ("/api/lessons/{lesson_id}/recording", "delete", "Delete a lesson's recording", None,
     "organizer"),
    ("/api/recordings/{lesson_id}/{track}/{name}", "get",
     "One recorded segment (WebM or Ogg), Range supported; a signed link (who, exp, sig)",
     None, "anyone with a signed link"),
    ("/api/recordings/{lesson_id}/audio.ogg", "get",
     "The lesson's sound from `from` to `to` (lesson clock, ms; both optional: the whole "
     "recording) as one Ogg Opus file, packets copied; download=1 for a named attachment; "
     "a signed link", None, "anyone with a signed link"),
    ("/api/recordings/{lesson_id}/catch-up", "get",
     "What a learner missed in a gap: its audio clip's link, duration and size, and the "
     "lesson's moments in it; the signed link of the join reply's `missed`", None,
     "anyone with a signed link"),
]  # fmt: skip


@recording_routes.get("/api/lessons/{lesson_id}/recording")
async def manifest(request: web.Request) -> web.Response:
    info = await lesson_of(request)
    viewer = await bearer_viewer(request, info)
    recordings = request.app[RECORDINGS]
    segments = await asyncio.to_thread(recordings.segments, info.id)
    span = await asyncio.to_thread(audio_span, recordings, info.id)
    records = await request.app[EVENTLOG].read(info.id)
    now_ms, pid = int(time.time() * 1000), viewer.participant_id
    body: dict[str, Any] = {
        "lesson": {"id": info.id, "title": info.title, "status": info.status,
                   "started_ms": info.started_ms, "ended_ms": info.ended_ms},
        "tracks": _tracks(request, info, viewer, segments),
        "audio": _audio(request, info, viewer, span),
        "events": replay_events(records, viewer.participant_id) + _screen(segments),
        "gaps": learner_gaps(records, pid, now_ms) if pid and viewer.is_student else [],
        "board": board_moments(records),
    }  # fmt: skip
    body["events"].sort(key=lambda x: x["t"])
    return ok(body)


def _tracks(
    request: web.Request, info: LessonInfo, viewer: Viewer, segments: list[Segment]
) -> dict[str, Any]:
    tracks: dict[str, Any] = {}
    for s in segments:
        track = tracks.setdefault(s.track, {"kind": s.kind, "codec": s.codec, "owner": s.owner,
                                            "segments": []})  # fmt: skip
        url = media_url(request, info.id, s.file, viewer.who)
        track["segments"].append({"start": s.start, "end": s.end, "bytes": s.bytes, "url": url})
    return tracks


def _audio(
    request: web.Request, info: LessonInfo, viewer: Viewer, span: tuple[int, int] | None
) -> dict[str, Any] | None:
    if span is None:
        return None
    start, end = span
    return {
        "start": start,
        "end": end,
        "url": audio_url(request, info.id, viewer.who, start, end),
        "download_url": audio_url(request, info.id, viewer.who, None, None) + "&download=1",
    }


def _screen(segments: list[Segment]) -> list[dict[str, Any]]:
    """Screen share switches: where the teacher's screen track starts and stops."""
    out: list[dict[str, Any]] = []
    last_end: int | None = None
    for s in (x for x in segments if x.track == "teacher-screen"):
        if last_end is None or s.start - last_end > 2000:
            if last_end is not None:
                out.append({"t": last_end, "type": "screen", "on": False})
            out.append({"t": s.start, "type": "screen", "on": True})
        last_end = s.end
    if last_end is not None:
        out.append({"t": last_end, "type": "screen", "on": False})
    return out


def media_url(request: web.Request, lesson_id: str, file: str, who: str) -> str:
    query = request.app[MEDIA_LINKS].query(lesson_id, file, who, time.time())
    return f"/api/recordings/{lesson_id}/{file}?{query}"


def audio_url(request: web.Request, lesson_id: str, who: str, a: int | None, b: int | None) -> str:
    query = request.app[MEDIA_LINKS].query(lesson_id, audio_resource(a, b), who, time.time())
    span = "" if a is None or b is None else f"from={a}&to={b}&"
    return f"/api/recordings/{lesson_id}/audio.ogg?{span}{query}"


@recording_routes.delete("/api/lessons/{lesson_id}/recording")
async def delete_recording(request: web.Request) -> web.Response:
    info = await lesson_of(request)
    viewer = await bearer_viewer(request, info)
    if viewer.who != "organizer":
        raise Refused("forbidden", "Only an organizer (admin key) can delete a recording.")
    if not await asyncio.to_thread(request.app[RIGHTS].delete_recording, info.id):
        raise Refused("no-recording", "This lesson has no recording.")
    return ok({"deleted": info.id})


@recording_routes.get("/api/recordings/{lesson_id}/{track}/{name}")
async def segment_file(request: web.Request) -> web.StreamResponse:
    info = await lesson_of(request)
    file = f"{request.match_info['track']}/{request.match_info['name']}"
    await signed(request, info, file)
    path = request.app[RECORDINGS].file(info.id, file)
    if path is None:
        raise Refused("no-recording", "This part of the recording is not there (a gap).")
    content_type = CONTENT_TYPES.get(path.suffix.lstrip("."), "application/octet-stream")
    return web.FileResponse(path, headers={**PRIVATE, "Content-Type": content_type})


@recording_routes.get("/api/recordings/{lesson_id}/audio.ogg")
async def audio_file(request: web.Request) -> web.StreamResponse:
    info = await lesson_of(request)
    given = [_ms(request, "from"), _ms(request, "to")]
    await signed(request, info, audio_resource(*given))
    body = await audio_clip(request, info, given[0], given[1])
    headers = dict(PRIVATE)
    if request.query.get("download") == "1":
        name = f"{info.id}-{body.from_ms}-{body.to_ms}.opus" if given[0] else f"{info.id}.opus"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return ranged(request, body.body, "audio/ogg", headers)


async def audio_clip(request: web.Request, info: LessonInfo, a: int | None, b: int | None) -> Clip:
    recordings = request.app[RECORDINGS]
    if a is None or b is None:
        span = await asyncio.to_thread(audio_span, recordings, info.id)
        if span is None:
            raise Refused("no-recording", "This lesson has no recorded sound.")
        a, b = span
    if not 0 <= b - a <= CLIP_MAX_MS:
        raise Refused("invalid-payload", "'to' must follow 'from', at most six hours later.")
    return await asyncio.to_thread(request.app[CLIPS].clip, info.id, a, b)


@recording_routes.get("/api/recordings/{lesson_id}/catch-up")
async def catch_up(request: web.Request) -> web.Response:
    info = await lesson_of(request)
    a, b = _ms(request, "from"), _ms(request, "to")
    if a is None or b is None:
        raise Refused("invalid-payload", "'from' and 'to' are required.")
    who = await signed(request, info, f"catch-up:{a}-{b}")
    span = await asyncio.to_thread(audio_span, request.app[RECORDINGS], info.id)
    heard = span is not None and span[0] < b and span[1] > a  # else nothing was recorded then
    size = len((await audio_clip(request, info, a, b)).body) if heard else 0
    records = await request.app[EVENTLOG].read(info.id)
    pid = who.split(":")[1] if ":" in who else None
    moments = [x for x in replay_events(records, pid) if a <= x["t"] < b]
    return ok({
        "from_ms": a, "to_ms": b, "duration_ms": b - a, "bytes": size,
        "audio_url": audio_url(request, info.id, who, a, b) if heard else None,
        "events": moments,
        "live": info.status == "live", "now_ms": request.app[LIVE].clock(),
    })  # fmt: skip


async def signed(request: web.Request, info: LessonInfo, resource: str) -> str:
    """The `who` of this request's signed link, still allowed to see this lesson's recording."""
    query = dict(request.query)
    who = request.app[MEDIA_LINKS].verify(info.id, resource, query, time.time())
    await check_who(request, info, who)
    return who


def _ms(request: web.Request, name: str) -> int | None:
    if name not in request.query:
        return None
    return query_int(request, name, 0, 0, 2**53)
