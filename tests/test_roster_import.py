"""Roster import from files as schools have them: `;`, header, BOM, cp1251, UTF-16, .xlsx."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import openpyxl
import pytest

from client.rest import RestError
from server.roster import XLSX, read_roster
from tests.conftest import SABAK, Running, clean_env

pytestmark = pytest.mark.store("memory")  # not about Redis: the in-memory store

# What "Save as CSV" gives in Russian-locale Excel: a BOM, `;`, a header row, CRLF.
EXCEL_RU = "\ufeffФИО;ID\r\nТоктогулова Айгүл;1001\r\nБеков Азамат;1002\r\n".encode()
NAMES = ["Токтогулова Айгүл", "Беков Азамат"]


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_russian_excel_csv_with_bom_and_header() -> None:
    preview = read_roster(EXCEL_RU, "text/csv")
    assert (preview.separator, preview.header, preview.encoding) == (";", True, "utf-8-sig")
    assert [(r.name, r.external_id, r.row) for r in preview.rows] == [
        (NAMES[0], "1001", 2), (NAMES[1], "1002", 3)
    ]  # fmt: skip
    assert preview.problems == []


def test_windows_1251_without_a_header() -> None:
    data = "Иванов Иван;7\r\nПетрова Мария;8\r\n".encode("cp1251")
    preview = read_roster(data, "text/csv")
    assert (preview.encoding, preview.separator, preview.header) == ("cp1251", ";", False)
    assert [(r.name, r.external_id) for r in preview.rows] == [
        ("Иванов Иван", "7"), ("Петрова Мария", "8")
    ]  # fmt: skip


def test_unicode_text_is_utf16_and_tab_separated() -> None:
    data = "Name\tID\r\nАсель Нурланова\tA-1\r\n".encode("utf-16")
    preview = read_roster(data, "text/csv")
    assert (preview.encoding, preview.separator, preview.header) == ("utf-16", "\t", True)
    assert [(r.name, r.external_id) for r in preview.rows] == [("Асель Нурланова", "A-1")]


def test_a_header_names_its_columns_in_any_order() -> None:
    data = "№,ID,Аты-жөнү\n1,77,Бакыт Алиев\n2,78,Нурай Осмонова\n".encode()
    preview = read_roster(data, "text/csv")
    assert [(r.name, r.external_id) for r in preview.rows] == [
        ("Бакыт Алиев", "77"), ("Нурай Осмонова", "78")
    ]  # fmt: skip


def test_an_xlsx_sheet() -> None:
    data = xlsx([["Аты-жөнү", "ID"], ["Айбек Сатыбалдиев", 1024], [None, None], ["Жаңыл", None]])
    preview = read_roster(data, XLSX)
    assert (preview.format, preview.header) == ("xlsx", True)
    assert [(r.name, r.external_id, r.row) for r in preview.rows] == [
        ("Айбек Сатыбалдиев", "1024", 2), ("Жаңыл", "", 4)
    ]  # fmt: skip


def test_what_is_wrong_is_listed_row_by_row() -> None:
    data = b"name,id\nAna;12,\n\x00 ,5\nBek,9\nCem,9\n"
    preview = read_roster(data, "text/csv")
    assert [(p.row, p.code) for p in preview.problems] == [
        (2, "glued-cells"), (3, "invalid-name"), (5, "duplicate-id")
    ]  # fmt: skip
    assert [r.name for r in preview.rows] == ["Bek"]


def test_a_broken_xlsx_is_refused_in_words() -> None:
    from core.errors import Refused

    with pytest.raises(Refused) as info:
        read_roster(b"PK\x03\x04 not really a zip", XLSX)
    assert info.value.code == "invalid-roster"


async def test_a_dry_run_stores_nothing_then_the_import_stores_what_it_showed(
    server: Running,
) -> None:
    async with server.rest() as rest:
        course = await rest.create_course("7A")
        await rest.import_roster_csv(course["id"], "Someone Earlier,1002\n")
        preview = await rest.import_roster(course["id"], EXCEL_RU, dry_run=True)
        assert [(s["name"], s["action"]) for s in preview["students"]] == [
            (NAMES[0], "create"), (NAMES[1], "update")
        ]  # fmt: skip
        assert (preview["separator"], preview["header"], preview["problems"]) == (";", True, [])
        roster = await rest.request("GET", f"/api/courses/{course['id']}/students")
        assert [s["name"] for s in roster] == ["Someone Earlier"]  # nothing stored yet
        await rest.import_roster(course["id"], EXCEL_RU)
        roster = await rest.request("GET", f"/api/courses/{course['id']}/students")
        assert sorted((s["name"], s["external_id"]) for s in roster) == [
            (NAMES[1], "1002"), (NAMES[0], "1001")
        ]  # fmt: skip


async def test_a_file_with_problems_is_refused_whole(server: Running) -> None:
    async with server.rest() as rest:
        course = await rest.create_course("7B")
        with pytest.raises(RestError) as info:
            await rest.import_roster(course["id"], b"name\nAna;12\nBek\n")
        assert (info.value.status, info.value.code) == (400, "invalid-roster")
        assert "Row 2" in info.value.message
        sheet = xlsx([["Name"], ["Aida"], ["Bolot"]])
        added = await rest.import_roster(course["id"], sheet, XLSX)
        assert [s["name"] for s in added] == ["Aida", "Bolot"]


async def test_the_cli_dry_run_prints_the_preview(server: Running, tmp_path: Path) -> None:
    async with server.rest() as rest:
        course = await rest.create_course("7C")
    path = tmp_path / "class.csv"
    path.write_bytes(EXCEL_RU)
    env = clean_env(SABAK_SERVER_PORT=str(server.settings.server.port),
                    SABAK_SERVER_DATA_DIR=str(server.settings.data_path))  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        SABAK, "roster-import", course["id"], str(path), "--dry-run", env=env,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    assert [s["name"] for s in json.loads(out)["students"]] == NAMES
    async with server.rest() as rest:
        assert await rest.request("GET", f"/api/courses/{course['id']}/students") == []
