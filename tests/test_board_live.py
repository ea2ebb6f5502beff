"""The board on a real server: show, draw, undo, clear and point over socket.io, what reaches
every page, what the log keeps (strokes, once each; never the pointer), and the refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from client.sabak_client import CallFailed, SabakClient
from tests import pdf_files
from tests.conftest import Classroom, Running
from tests.test_decks import upload

LINE = [100, 100, 5000, 5000, 9000, 1000]


@pytest.fixture
async def people(server: Running, classroom: Classroom) -> AsyncIterator[list[SabakClient]]:
    links = [classroom.teacher["link"]] + [s["link"] for s in classroom.students[:2]]
    clients = [server.client(link) for link in links]
    for client in clients:
        await client.connect()
        await client.join(classroom.lesson["id"])
    yield clients
    for client in clients:
        await client.close()


async def board_log(server: Running, classroom: Classroom) -> list[dict[str, Any]]:
    async with server.rest() as rest:
        log = await rest.events(classroom.lesson["id"])
    kinds = ("Board", "Page", "Stroke", "FloorDrawing")
    return [r for r in log if r["type"].startswith(kinds)]


async def test_a_stroke_reaches_everyone_is_logged_once_and_a_late_joiner_sees_it(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    teacher, ana, _ = people
    await teacher.call("board_show", {"deck": None, "page": 2})
    shown = await ana.next("board")
    assert (shown["deck"], shown["page"], shown["board"], shown["strokes"]) == (
        None, 2, "blank:2", [])  # fmt: skip
    stroke = {"client_id": "s-1", "points": LINE, "color": "red", "width": 40}
    ack = await teacher.call("board_stroke", stroke)
    again = await teacher.call("board_stroke", stroke)  # a retry after a lost ack
    assert again["stroke_id"] == ack["stroke_id"] and again["duplicate"] is True
    got = await ana.next("stroke")
    assert (got["board"], got["points"], got["color"], got["tool"]) == (
        "blank:2", LINE, "red", "pen")  # fmt: skip
    late = server.client(classroom.students[2]["link"])
    await late.connect()
    board = (await late.join(classroom.lesson["id"]))["snapshot"]["board"]
    await late.close()
    assert board["page"] == 2 and [s["points"] for s in board["strokes"]] == [LINE]
    log = await board_log(server, classroom)
    assert [r["type"] for r in log] == ["BoardShown", "StrokeAdded"]
    assert log[1]["data"]["points"] == LINE and log[1]["actor"] == classroom.teacher["id"]


async def test_undo_clear_and_turn_reach_the_students(
    people: list[SabakClient], classroom: Classroom
) -> None:
    teacher, ana, _ = people
    await teacher.call("board_show", {"deck": None})
    for i in range(2):
        await teacher.call("board_stroke", {"client_id": f"c{i}", "points": LINE})
    undone = await teacher.call("board_undo")
    assert await ana.wait_for("stroke_undone", lambda d: True) == {
        "board": "blank:1", "stroke_id": undone["stroke_id"]}  # fmt: skip
    await teacher.call("board_turn", {"page": 3})
    turned = await ana.wait_for("board", lambda d: d["page"] == 3)
    assert turned["strokes"] == []
    await teacher.call("board_turn", {"page": 1})
    back = await ana.wait_for("board", lambda d: d["page"] == 1)
    assert [s["client_id"] for s in back["strokes"]] == ["c0"]
    await teacher.call("board_clear")
    assert (await ana.wait_for("board", lambda d: not d["strokes"]))["page"] == 1


@pytest.mark.store("memory")
async def test_only_the_teacher_and_an_allowed_floor_draw(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    teacher, ana, bek = people
    ana_id = classroom.students[0]["id"]
    await teacher.call("board_show", {"deck": None})
    for who, event, payload, code in [
        (ana, "board_stroke", {"client_id": "a", "points": LINE}, "drawing-not-allowed"),
        (ana, "board_pointer", {"x": 5, "y": 5}, "drawing-not-allowed"),
        (ana, "board_show", {"deck": None, "page": 2}, "forbidden"),
        (ana, "board_clear", None, "forbidden"),
        (teacher, "board_stroke", {"client_id": "t", "points": [1, 10001]}, "invalid-payload"),
        (teacher, "board_stroke", {"client_id": "t", "points": [1, 2, 3]}, "bad-stroke"),
        (teacher, "board_stroke", {"client_id": "t", "points": LINE, "color": "x"},
         "invalid-payload"),
        (teacher, "board_show", {"deck": "ab" * 32}, "unknown-deck"),
        (teacher, "board_turn", {"page": 21}, "no-such-page"),
    ]:  # fmt: skip
        with pytest.raises(CallFailed) as info:
            await who.call(event, payload)
        assert info.value.code == code, (event, payload)
    await teacher.call("floor_give", {"participant_id": ana_id})
    await ana.answer_floor(True)
    await teacher.call("board_floor_draw", {"allowed": True})
    assert await bek.wait_for("board_draw", lambda d: True) == {"allowed": True}
    await ana.call("board_stroke", {"client_id": "a", "points": LINE, "tool": "eraser"})
    got = await bek.wait_for("stroke", lambda d: d["author_id"] == ana_id)
    assert got["tool"] == "eraser"
    with pytest.raises(CallFailed) as info:
        await bek.call("board_stroke", {"client_id": "b", "points": LINE})
    assert info.value.code == "drawing-not-allowed"
    log = await board_log(server, classroom)
    assert [r["type"] for r in log] == ["BoardShown", "FloorDrawingSet", "StrokeAdded"]


@pytest.mark.store("memory")
async def test_a_stroke_flood_is_refused_and_not_stored(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    teacher, ana, _ = people
    await teacher.call("board_show", {"deck": None})
    await teacher.call("floor_give", {"participant_id": classroom.students[0]["id"]})
    await ana.answer_floor(True)
    await teacher.call("board_floor_draw", {"allowed": True})
    codes = []
    for i in range(15):
        try:
            await ana.call("board_stroke", {"client_id": f"f{i}", "points": LINE})
            codes.append("ok")
        except CallFailed as refused:
            codes.append(refused.code)
    assert codes == ["ok"] * 10 + ["rate-limited"] * 5
    strokes = [r for r in await board_log(server, classroom) if r["type"] == "StrokeAdded"]
    assert len(strokes) == 10


@pytest.mark.store("memory")
async def test_the_pointer_is_coalesced_and_never_stored(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    teacher, ana, _ = people
    await teacher.call("board_show", {"deck": None})
    moves = 40
    for i in range(moves):  # as fast as the socket goes: far more than ten a second
        await teacher.call("board_pointer", {"x": i * 100, "y": 500})
    await teacher.call("board_pointer", {"x": None, "y": None})
    last = await ana.wait_for("pointer", lambda d: d["x"] is None, timeout=3)
    assert last == {"board": "blank:1", "x": None, "y": None}
    await asyncio.sleep(0.3)
    seen = len(ana.inbox["pointer"]) + 1
    assert seen < moves / 2, seen  # the newest position at most every 100 ms, not every move
    assert [r["type"] for r in await board_log(server, classroom)] == ["BoardShown"]


@pytest.mark.store("memory")
async def test_a_deck_is_shown_with_the_pages_the_deck_store_knows(
    server: Running, people: list[SabakClient], classroom: Classroom
) -> None:
    teacher, ana, _ = people
    token = str(classroom.teacher["link"]).split("#", 1)[1]
    status, deck = await upload(server, pdf_files.deck(pages=5), key=token, name="Maps.pdf")
    assert status == 201, deck
    await teacher.call("board_show", {"deck": deck["deck"], "page": 2})
    shown = await ana.next("board")
    assert (shown["deck"], shown["page"], shown["pages"], shown["title"]) == (
        deck["deck"], 2, 5, "Maps")  # fmt: skip
    with pytest.raises(CallFailed) as info:
        await teacher.call("board_turn", {"page": 6})
    assert info.value.code == "no-such-page"
    with pytest.raises(CallFailed) as info:  # a well-formed id the store does not hold
        await teacher.call("board_show", {"deck": "0" * 64})
    assert info.value.code == "unknown-deck"
    async with server.rest() as rest:
        report = await rest.request("GET", f"/api/lessons/{classroom.lesson['id']}/report")
    assert report["decks"] == [{"deck": deck["deck"], "title": "Maps", "pages": 5, "shown": [2]}]
