"""Reports for people open in Excel: a BOM and `;` for Russian/Kyrgyz, typed .xlsx cells."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime

import openpyxl

from server.report_routes import LABELS
from server.spreadsheet import (
    HEADERS,
    excel_csv,
    lesson_table,
    matrix_table,
    xlsx,
    zone,
)
from tests.test_exports import EVIL, report_with

LESSON = {"id": "L", "title": "=cmd"}


def test_the_excel_csv_has_a_bom_the_locale_separator_and_russian_words() -> None:
    report = report_with([EVIL, "Өмүр"])
    table = lesson_table(LESSON, report, LABELS["ru"], "ru", zone("Asia/Bishkek"))
    data = excel_csv(*table, "ru")
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel does not guess the code page
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == list(HEADERS["ru"]) and len(rows[0]) == 27
    name, status, joined = (HEADERS["ru"].index(h) for h in ("Имя", "Статус", "Первый вход"))
    assert rows[1][name] == "'" + EVIL  # still no formula, whatever Excel splits on
    learners: list[dict[str, str]] = report["learners"]  # type: ignore[assignment]
    assert rows[2][name] == "Өмүр" and rows[2][status] == LABELS["ru"][learners[1]["status"]]
    # The lesson started at 0 ms UTC; the learner joined at 60 s: 06:01 in Bishkek (UTC+6).
    assert rows[2][joined] == "1970-01-01 06:01:00"
    assert rows[2][HEADERS["ru"].index("Урок, мин")] == "10,0"  # a decimal comma
    assert not any(c.startswith(("=", "+", "-", "@")) for row in rows for c in row)


def test_the_english_excel_csv_keeps_commas() -> None:
    table = lesson_table(LESSON, report_with(["Ana"]), LABELS["en"], "en", zone(None))
    text = excel_csv(*table, "en").decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(text)))[:2] == ["Lesson id", "Lesson"]


def test_the_workbook_has_typed_cells_and_no_formulas() -> None:
    report = report_with([EVIL, "Үмүт"])
    header, rows = lesson_table(LESSON, report, LABELS["ky"], "ky", zone("Asia/Bishkek"))
    data = xlsx("Сабак: 7/А [1]", header, rows)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no cell is a formula
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert ws is not None and ws.title == "Сабак  7 А  1"
    assert [c.value for c in ws[1]] == list(HEADERS["ky"])
    assert ws.cell(2, 5).value == EVIL and ws.cell(2, 5).data_type == "s"
    assert ws.cell(2, 2).value == "=cmd" and ws.cell(2, 2).data_type == "s"
    assert ws.cell(3, 8).value == datetime(1970, 1, 1, 6, 1)  # a real date, in Bishkek time
    assert ws.cell(3, 10).value == 10.0 and ws.cell(3, 10).data_type == "n"


def test_the_matrix_in_kyrgyz() -> None:
    matrix = {
        "lessons": [{"id": "L", "title": "-сабак"}],
        "learners": [{"id": "s", "name": "@evil", "guest": False,
                      "lessons": {"L": {"status": "present"}}}],
    }  # fmt: skip
    header, rows = matrix_table(matrix, LABELS["ky"], "ky")
    assert header == ["Аты", "Конок", "-сабак"] and rows == [["@evil", "жок", "катышты"]]
    text = excel_csv(header, rows, "ky").decode("utf-8-sig")
    assert text.splitlines() == ["Аты;Конок;'-сабак", "'@evil;жок;катышты"]
