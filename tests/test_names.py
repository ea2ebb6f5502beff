"""Names and titles are plain text on every way in: REST, roster CSV, guests, quizzes."""

from __future__ import annotations

import pytest

from client.rest import RestError
from client.sabak_client import SabakClient
from core.errors import Refused
from core.names import clean_name, sort_key
from tests.conftest import Running, make_classroom
from tests.test_security import refused_connect

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store

RLO, LRI, PDI, ZWSP = "\u202e", "\u2066", "\u2069", "\u200b"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("  Aigerim   Bekova ", "Aigerim Bekova"),
        ("Ali\x00ya", "Aliya"),
        ("\x1b[31mRed\x1b[0m", "[31mRed[0m"),
        (f"Eve{RLO})rehcaet(", "Eve)rehcaet("),
        (f"{LRI}Bek{PDI}{ZWSP}", "Bek"),
        ("Line\nbreak\ttab\u2028sep", "Line break tab sep"),
        ("e\u0301", "\u00e9"),  # NFC: one letter, as typed on another phone
        ("Айгүл Токтогулова", "Айгүл Токтогулова"),
    ],
)
def test_a_name_is_cleaned_to_plain_text(given: str, kept: str) -> None:
    assert clean_name(given) == kept


KYRGYZ_ORDER = [
    "Абдыкадыров Нурлан", "Айдар", "айжан", "Ёлкин", "Нуржан", "Ңаа", "Омор", "Өмүр",
    "Павел", "Урмат", "Үмүт", "Фарида", "Юлия", "Ян Ли", "Яна",
]  # fmt: skip


def test_names_sort_in_kyrgyz_alphabetical_order() -> None:
    # Code-point order puts Ң, Ө and Ү after Я; the Kyrgyz alphabet puts them after Н, О, У.
    for shuffled in (KYRGYZ_ORDER[::-1], KYRGYZ_ORDER[1::2] + KYRGYZ_ORDER[::2]):
        assert sorted(shuffled, key=sort_key) == KYRGYZ_ORDER


async def test_the_roster_and_the_reports_come_in_kyrgyz_order(server: Running) -> None:
    expected = ["Нуржан", "Ңаа", "Омор", "Өмүр", "Урмат", "Үмүт", "Яна"]
    async with server.rest() as rest:
        course = await rest.create_course("7А")
        await rest.add_students(course["id"], expected[::-1])
        lesson = await rest.create_lesson(course["id"], "Сабак", False)
        await rest.start_lesson(lesson["id"])
        roster = await rest.request("GET", f"/api/courses/{course['id']}/students")
        report = await rest.report(f"/api/lessons/{lesson['id']}/report")
        matrix = await rest.report(f"/api/courses/{course['id']}/report")
    assert [s["name"] for s in roster] == expected
    assert [r["name"] for r in report["learners"]] == expected
    assert [r["name"] for r in matrix["learners"]] == expected


@pytest.mark.parametrize("given", ["", "   ", "\x00", f"{RLO}{LRI}{PDI}", "\x1b\x07\t\n"])
def test_a_name_with_nothing_visible_is_refused(given: str) -> None:
    with pytest.raises(Refused) as info:
        clean_name(given)
    assert info.value.code == "invalid-name"


async def test_rest_names_and_titles_are_cleaned_or_refused(server: Running) -> None:
    async with server.rest() as rest:
        course = await rest.create_course(f"Alg\x00ebra{RLO} 7A")
        assert course["title"] == "Algebra 7A"
        teacher = await rest.create_teacher(f"Aigul\x1b  {RLO}Teacher", [course["id"]])
        assert teacher["name"] == "Aigul Teacher"
        lesson = await rest.create_lesson(course["id"], f"{LRI}Fractions{PDI}")
        assert lesson["title"] == "Fractions"
        students = await rest.add_students(course["id"], [f"Ana{RLO}\x00", "Bek\nUulu"])
        assert [s["name"] for s in students] == ["Ana", "Bek Uulu"]
        imported = await rest.import_roster_csv(course["id"], f"name\nDana{RLO}\x07,e1\n")
        assert [s["name"] for s in imported] == ["Dana"]
        for call in (
            rest.create_course(f"\x00{RLO}"),
            rest.create_teacher(" \u200b ", []),
            rest.add_students(course["id"], ["\x1b"]),
        ):
            with pytest.raises(RestError) as info:
                await call
            assert (info.value.status, info.value.code) == (400, "invalid-name")


async def test_a_guest_named_with_control_codes_is_shown_as_text(server: Running) -> None:
    room = await make_classroom(server, n_students=0, allow_guests=True)
    code = room.lesson["code"]
    assert "invalid-name" in await refused_connect(server, {"guest_code": code, "name": "\x00"})
    guest = SabakClient(server.url, guest_code=code, name=f"Eve{RLO})rehcaet(\x00")
    await guest.connect()
    welcome = await guest.join()
    assert welcome["you"]["name"] == "Eve)rehcaet("
    await guest.close()
    async with server.rest() as rest:
        events = await rest.events(room.lesson["id"])
    waiting = [e for e in events if e["type"] == "GuestWaiting"]
    assert [e["data"]["name"] for e in waiting] == ["Eve)rehcaet("]
