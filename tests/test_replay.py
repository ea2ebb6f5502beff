"""Replay and catch-up on a real server: access, signed media with Range, audio clips, deletion.

Recordings are made by tests/recording_files.py in the recorder's layout (real Opus and VP8).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from client.rest import RestClient, RestError, token_from_link
from client.sabak_client import SabakClient
from core import events as e
from core.replay import learner_gaps, missed_gap, replay_events
from lessons.recordings import Recordings
from media import oggopus
from media.audio_clip import clip
from server.appkeys import LIVE, MEDIA_LINKS, RECORDINGS, RETENTION
from tests.conftest import Classroom, Running, free_port, make_classroom, settings_for, start_server
from tests.recording_files import RecordingWriter, decoded_seconds, ogg_opus

pytestmark = pytest.mark.store("memory")  # about files and links, not Redis


def wall_ms() -> int:
    return int(time.time() * 1000)


# -- the Ogg Opus cut, on files ------------------------------------------------------------


def test_the_hand_made_pages_carry_the_crc_libogg_writes() -> None:
    data = ogg_opus(2.0)
    pages = list(oggopus.pages(data))  # each page's CRC is checked while reading
    assert len(pages) >= 3 and pages[-1].flags & 4
    empty = list(oggopus.pages(oggopus.write(None, [])))  # the two headers and a last page
    assert [p.flags for p in empty] == [2, 0, 4] and empty[0].packets[0].startswith(b"OpusHead")
    rewritten = oggopus.write(*oggopus.timed_packets(data, 0))
    assert len(list(oggopus.pages(rewritten))) >= 3
    assert abs(decoded_seconds(rewritten) - 2.0) < 0.05


def test_a_clip_spans_closed_segments_a_missing_one_and_the_open_one_cut_mid_page(
    tmp_path: Path,
) -> None:
    w = RecordingWriter(tmp_path, "l1")
    w.audio(100_000, 10)
    gone = w.audio(110_000, 10)
    w.audio(120_000, 10)
    w.open_audio(130_000, 8, cut_bytes=300)  # the writer is in the middle of a page
    (tmp_path / "l1" / gone).unlink()  # lost in a crash: a gap, silent in the clip
    recordings = Recordings(tmp_path)
    for a, b in ((103_000, 127_000), (125_000, 137_000), (100_000, 100_500)):
        got = clip(recordings, "l1", a, b)
        assert abs(decoded_seconds(got.body) - (b - a) / 1000) < 1.0, (a, b)
    # Only what is there: the open segment's last complete page, not beyond.
    _, packets = oggopus.timed_packets((tmp_path / "l1" / "audio/000003.ogg").read_bytes(), 0)
    assert 5_000 < packets[-1].start_ms < 8_000


def test_a_damaged_page_ends_the_segment_there_without_an_error() -> None:
    data = bytearray(ogg_opus(3.0))
    data[len(data) // 2] ^= 0xFF
    _, packets = oggopus.timed_packets(bytes(data), 0)
    assert 0 < len(packets) < 150


# -- the lesson's moments and gaps (core) ----------------------------------------------------


def rec(seq: int, ts: int, ev: e.Event) -> e.Record:
    return e.Record(seq, ts, "x", ev)


def test_replay_shows_what_the_viewer_saw_live_and_only_that() -> None:
    records = [
        rec(1, 0, e.ParticipantJoined("s1", "Aida", "student")),
        rec(2, 10, e.ChatPosted(1, "c", "t1", "to all", "all")),
        rec(3, 20, e.ChatPosted(2, "c", "s2", "to teacher", "teacher")),
        rec(4, 30, e.ChatPosted(3, "c", "t1", "private to s1", "participant", "s1")),
        rec(5, 40, e.ChatPosted(4, "c", "t1", "deleted", "all")),
        rec(6, 50, e.ChatDeleted(4)),
        rec(7, 60, e.PollOpened(1, "single", "Q?", ["a", "b"], False, True, True)),
        rec(8, 70, e.FloorGiven("s1", False)),
        rec(9, 80, e.RecordingFailed("disk-full")),
    ]
    mine = replay_events(records, "s1")
    assert [m.get("text") for m in mine if m["type"] == "chat"] == ["to all", "private to s1"]
    assert [m["type"] for m in mine][-3:] == ["poll", "floor", "recording"]
    assert mine[-2]["name"] == "Aida" and mine[-2]["t"] == 70
    assert mine[-1] == {"t": 80, "type": "recording", "what": "recording_failed",
                        "reason": "disk-full"}  # fmt: skip
    staff = replay_events(records, None)
    assert len([m for m in staff if m["type"] == "chat"]) == 3


def test_a_learners_gaps_come_from_their_attendance_record() -> None:
    records = [
        rec(1, 0, e.LessonStarted("L", "t1", False)),
        rec(2, 1000, e.ParticipantJoined("s1", "Aida", "student")),
        rec(3, 5000, e.ParticipantLeft("s1", "network", 4000)),
        rec(4, 9000, e.ParticipantJoined("s1", "Aida", "student")),
    ]
    assert learner_gaps(records, "s1", 20_000) == [{"from": 4000, "to": 9000, "reason": "network"}]


@pytest.mark.parametrize(
    ("before", "back", "expected"),
    [
        (("away", 50_000, 40_000), 70_000, (40_000, 70_000)),  # a drop: from the last beat
        (("left", 50_000, 1_000), 70_000, (50_000, 70_000)),  # left: from leaving, not an old drop
        (("away", 50_000, 45_000), 54_000, None),  # under 10 s: nothing to offer
        (("present", 50_000, 0), 70_000, None),
        (("removed", 50_000, 0), 90_000, None),
    ],
)
def test_what_a_learner_missed(before: tuple[str, int, int], back: int, expected: Any) -> None:
    assert missed_gap(*before, back_ms=back) == expected


# -- access and signed media on a real server ------------------------------------------------


def recorded(server: Running, room: Classroom) -> RecordingWriter:
    """A recording of the lesson: 20 s of audio, camera, a screen share and a student's floor."""
    start = room.lesson["started_ms"]
    w = RecordingWriter(server.app[RECORDINGS].root, room.lesson["id"])
    w.audio(start, 10)
    w.audio(start + 10_000, 10)
    w.video("teacher-camera", start, 10)
    w.video("teacher-screen", start + 5_000, 4)
    floor = f"floor-mic.{room.students[0]['id']}"
    w.segment(floor, "audio", "opus", b"\x1aE\xdf\xa3", start + 2000, 3, room.students[0]["id"])
    return w


def student_token(room: Classroom, n: int = 0) -> str:
    return token_from_link(room.students[n]["link"])


async def manifest(server: Running, token: str, lesson_id: str) -> dict[str, Any]:
    async with RestClient(server.url, token) as rest:
        data: dict[str, Any] = await rest.request("GET", f"/api/lessons/{lesson_id}/recording")
        return data


async def get(server: Running, url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as http, http.get(server.url + url, headers=headers) as r:
        return r.status, dict(r.headers), await r.read()


async def test_roster_students_teachers_and_organizers_open_a_recording_others_do_not(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=1, allow_guests=True)
    other = await make_classroom(server, n_students=1)
    recorded(server, room)
    lesson_id = room.lesson["id"]
    for token in (student_token(room), token_from_link(room.teacher["link"]), server.admin_key):
        data = await manifest(server, token, lesson_id)
        assert set(data["tracks"]) >= {"audio", "teacher-camera", "teacher-screen"}
        assert data["audio"]["start"] == room.lesson["started_ms"]
    guest = SabakClient(server.url, guest_code=room.lesson["code"], name="Visitor")
    await guest.connect()
    await guest.join()
    refused = {
        "a student of another course": (student_token(other), 403, "forbidden"),
        "its teacher": (token_from_link(other.teacher["link"]), 403, "forbidden"),
        "a guest's resume token": (guest.auth["token"], 403, "forbidden"),
        "a forged token": (student_token(room)[:-3] + "AAA", 401, "bad-token"),
    }
    for who, (token, status, code) in refused.items():
        with pytest.raises(RestError) as no:
            await manifest(server, token, lesson_id)
        assert (no.value.status, no.value.code) == (status, code), who
    await guest.close()


async def test_media_links_are_signed_short_lived_bound_to_the_caller_and_ranged(
    server: Running,
) -> None:
    room = await make_classroom(server, n_students=2)
    recorded(server, room)
    lesson_id = room.lesson["id"]
    data = await manifest(server, student_token(room), lesson_id)
    url = data["tracks"]["teacher-camera"]["segments"][0]["url"]
    size = data["tracks"]["teacher-camera"]["segments"][0]["bytes"]
    status, headers, body = await get(server, url)
    assert status == 200 and len(body) == size and body[:4] == b"\x1aE\xdf\xa3"
    assert headers["Content-Type"] == "video/webm"
    assert headers["Cache-Control"].startswith("private")
    status, headers, body = await get(server, url, Range="bytes=100-199")
    assert status == 206 and len(body) == 100
    assert headers["Content-Range"] == f"bytes 100-199/{size}"
    status, headers, _ = await get(server, url, Range=f"bytes={size + 10}-")
    assert status == 416 and headers["Content-Range"] == f"bytes */{size}"
    # Forged: another file under the same signature, another caller, a changed expiry.
    other_file = url.replace("teacher-camera/000000.webm", "audio/000000.ogg")
    someone_else = url.replace(f"student%3A{room.students[0]['id']}", "organizer")
    parts = parse_qs(urlsplit(url).query)
    later = url.replace(f"exp={parts['exp'][0]}", f"exp={int(parts['exp'][0]) + 3600}")
    for forged in (other_file, someone_else, later):
        assert forged != url
        status, _, body = await get(server, forged)
        assert status == 403 and b"bad-link" in body
    links = server.app[MEDIA_LINKS]
    who = parts["who"][0]
    old = links.query(lesson_id, "teacher-camera/000000.webm", who, time.time() - 3 * 3600)
    status, _, body = await get(
        server, f"/api/recordings/{lesson_id}/teacher-camera/000000.webm?{old}"
    )
    assert status == 401 and b"link-expired" in body
    async with server.rest() as rest:  # the student's link is rotated: their media links stop
        await rest.request("POST", f"/api/students/{room.students[0]['id']}/rotate-link")
    status, _, body = await get(server, url)
    assert status == 401 and b"link-revoked" in body


async def test_the_audio_range_is_one_ogg_opus_file_covering_from_to(server: Running) -> None:
    room = await make_classroom(server, n_students=1)
    recorded(server, room)
    start = room.lesson["started_ms"]
    data = await manifest(server, student_token(room), room.lesson["id"])
    status, headers, whole = await get(server, data["audio"]["url"])
    assert status == 200 and headers["Content-Type"] == "audio/ogg"
    assert abs(decoded_seconds(whole) - 20) < 1
    status, headers, part = await get(server, data["audio"]["url"], Range="bytes=0-999")
    assert status == 206 and part == whole[:1000]
    status, headers, download = await get(server, data["audio"]["download_url"])
    assert status == 200 and download == whole
    assert headers["Content-Disposition"] == f'attachment; filename="{room.lesson["id"]}.opus"'
    # A range the manifest did not sign is refused; a signed one covers it within a second.
    tampered = data["audio"]["url"].replace(f"from={start}", f"from={start + 5000}")
    assert (await get(server, tampered))[0] == 403
    who = parse_qs(urlsplit(data["audio"]["url"]).query)["who"][0]
    a, b = start + 4_321, start + 17_654
    query = server.app[MEDIA_LINKS].query(room.lesson["id"], f"audio.ogg:{a}-{b}", who, time.time())
    status, _, body = await get(
        server, f"/api/recordings/{room.lesson['id']}/audio.ogg?from={a}&to={b}&{query}"
    )
    assert status == 200 and abs(decoded_seconds(body) - (b - a) / 1000) < 1


async def test_a_guests_catch_up_link_works_during_the_lesson_only(server: Running) -> None:
    room = await make_classroom(server, n_students=0, allow_guests=True)
    recorded_audio = RecordingWriter(server.app[RECORDINGS].root, room.lesson["id"])
    recorded_audio.audio(room.lesson["started_ms"], 10)
    a, b = room.lesson["started_ms"], room.lesson["started_ms"] + 5000
    query = server.app[MEDIA_LINKS].query(
        room.lesson["id"], f"catch-up:{a}-{b}", "guest:g1", time.time()
    )
    url = f"/api/recordings/{room.lesson['id']}/catch-up?from={a}&to={b}&{query}"
    status, _, body = await get(server, url)
    assert status == 200
    sound = (await get(server, json.loads(body)["audio_url"]))[2]
    assert abs(decoded_seconds(sound) - 5) < 1
    async with server.rest() as rest:
        await rest.end_lesson(room.lesson["id"])
    status, _, body = await get(server, url)
    assert status == 403 and b"forbidden" in body  # guests get nothing after the lesson


async def test_the_organizer_deletes_a_recording_a_teacher_cannot(server: Running) -> None:
    room = await make_classroom(server, n_students=1)
    recorded(server, room)
    path = f"/api/lessons/{room.lesson['id']}/recording"
    async with RestClient(server.url, token_from_link(room.teacher["link"])) as teacher:
        with pytest.raises(RestError) as no:
            await teacher.request("DELETE", path)
        assert no.value.code == "forbidden"
    async with server.rest() as rest:
        assert await rest.request("DELETE", path) == {"deleted": room.lesson["id"]}
        assert not (server.app[RECORDINGS].root / room.lesson["id"]).exists()
        assert (await rest.request("GET", path))["tracks"] == {}


async def test_erasing_a_student_removes_their_floor_tracks_only(server: Running) -> None:
    room = await make_classroom(server, n_students=2)
    phone = server.client(room.students[0]["link"])
    await phone.connect()
    await phone.join(room.lesson["id"])
    await phone.close()
    recorded(server, room)
    folder = server.app[RECORDINGS].root / room.lesson["id"]
    pid = room.students[0]["id"]
    assert (folder / f"floor-mic.{pid}").is_dir()
    async with server.rest() as rest:
        await rest.request("DELETE", f"/api/students/{pid}")
    assert not (folder / f"floor-mic.{pid}").exists()
    assert pid not in (folder / "index.jsonl").read_text()
    assert (folder / "teacher-camera" / "000000.webm").is_file()
    data = await manifest(server, server.admin_key, room.lesson["id"])
    assert set(data["tracks"]) == {"audio", "teacher-camera", "teacher-screen"}


async def test_retention_deletes_recordings_after_their_own_keep_days(
    tmp_path: Path, redis_url: str
) -> None:
    settings = settings_for(tmp_path / "var", redis_url, free_port(), SABAK_RECORDING_KEEP_DAYS="3")
    running = await start_server(settings)
    try:
        room = await make_classroom(running, n_students=1)
        recorded(running, room)
        async with running.rest() as rest:
            await rest.end_lesson(room.lesson["id"])
        folder = running.app[RECORDINGS].root / room.lesson["id"]
        running.app[LIVE].clock = lambda: wall_ms() + 2 * 86_400_000
        await running.app[RETENTION].sweep()
        assert folder.is_dir()  # two days: kept
        running.app[LIVE].clock = lambda: wall_ms() + 4 * 86_400_000
        await running.app[RETENTION].sweep()
        assert not folder.exists()
        async with running.rest() as rest:  # the lesson and its attendance stay
            assert await rest.request("GET", f"/api/lessons/{room.lesson['id']}/report")
    finally:
        await running.runner.cleanup()


# -- "what I missed", live -------------------------------------------------------------------


async def drop(client: SabakClient) -> None:
    """The transport dies without a socket.io goodbye (a NAT or carrier reset)."""
    client.stop_heartbeat()
    await client.sio.eio.ws.close()


async def test_a_student_back_after_a_drop_is_offered_exactly_their_gap(server: Running) -> None:
    room = await make_classroom(server, n_students=1)
    lesson_id = room.lesson["id"]
    w = RecordingWriter(server.app[RECORDINGS].root, lesson_id)
    start = room.lesson["started_ms"]
    for n in range(4):
        w.audio(start + n * 10_000, 10)
    w.open_audio(start + 40_000, 30, cut_bytes=200)  # still being written as they come back
    teacher = server.client(room.teacher["link"])
    await teacher.connect()
    await teacher.join(lesson_id)
    phone = server.client(room.students[0]["link"], reconnection=False)
    await phone.connect()
    await phone.join(lesson_id)
    await asyncio.sleep(1)
    dropped_ms = wall_ms()
    await drop(phone)
    await asyncio.sleep(1)
    await teacher.chat("while you were away")
    await asyncio.sleep(10)
    back = server.client(phone.auth["token"])
    await back.connect()
    back_ms = wall_ms()
    reply = await back.join()
    missed = reply["missed"]
    assert abs(missed["from_ms"] - dropped_ms) < 1500 and abs(missed["to_ms"] - back_ms) < 1500
    began = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + missed["url"]) as r:
            offer = await r.json()
        async with http.get(server.url + offer["audio_url"]) as r:
            first = await r.content.readany()
            first_byte_s = time.perf_counter() - began
            body = first + await r.read()
    print(f"first byte {first_byte_s * 1000:.0f} ms")  # bench/catchup.py measures it
    gap_s = (missed["to_ms"] - missed["from_ms"]) / 1000
    assert abs(decoded_seconds(body) - gap_s) < 1.0
    assert offer["bytes"] == len(body) and offer["duration_ms"] == round(gap_s * 1000)
    assert [m["text"] for m in offer["events"] if m["type"] == "chat"] == ["while you were away"]
    await back.close()
    await teacher.close()
